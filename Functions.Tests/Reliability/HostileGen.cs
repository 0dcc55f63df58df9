using System.Globalization;
using System.Text;
using CsCheck;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>The shape a generated JSON field takes; <see cref="Absent"/> leaves it out of the object.</summary>
public enum FieldShape
{
    Absent,
    Null,
    Text,
    Number,
    Boolean,
    List,
    Map,
}

/// <summary>A generated field value: its JSON text and, for strings, the text it carries.</summary>
public sealed record FieldValue(FieldShape Shape, string Json, string? Text = null)
{
    public override string ToString() => Shape == FieldShape.Text ? $"\"{HostileGen.Visible(Text!)}\" ({Text!.Length} UTF-16 units)" : Shape.ToString();
}

/// <summary>CsCheck generators for hostile text and JSON bodies.</summary>
public static class HostileGen
{
    /// <summary>
    /// Pieces of text that trip validators: control characters, line and format characters, characters that NFC
    /// changes or expands (U+0958 and U+FB2C grow to 2 and 3 code points), astral characters, noncharacters, lone
    /// surrogates (which can pair up by chance), and the characters Table Storage keys forbid or OData quotes.
    /// </summary>
    public static readonly Gen<string> Piece = Gen.Frequency(
        (12, Gen.Char['a', 'z'].Select(c => c.ToString())),
        (3, Gen.OneOfConst(" ", "\t", "\n", "\r", "\u00a0", "\u2028", "\u200b", "\u3000")),
        (3, Gen.Char['\u0000', '\u001f'].Select(c => c.ToString())),
        (1, Gen.OneOfConst("\u007f", "\u0085", "\u009f")),
        (3, Gen.OneOfConst("/", "\\", "#", "?", "'", "\"", "%", "&", "=", "(", ")", "{", "}", "<", ">", "*", "@", ".", "+", "$")),
        (4, Gen.OneOfConst("\u00e9", "e\u0301", "A\u030a", "\u212b", "\u0958", "\ufb2c", "\u1e9b\u0323", "\u2126", "\ufb01", "\u0344")),
        (2, Gen.OneOfConst("\U0001F600", "\U0001D49C", "\U0010FFFD", "\U0001F469\u200D\U0001F469\u200D\U0001F467")),
        (1, Gen.OneOfConst("\ufeff", "\ufffe", "\uffff", "\ufffd", "\u202e")),
        (1, Gen.OneOfConst("\ud800", "\udc00", "\udbff")));

    /// <summary>Short hostile strings, and long ones around the limits that matter (200, 2,000 and 10,000).</summary>
    public static readonly Gen<string> Text = Gen.Frequency(
        (8, Piece.Array[0, 12].Select(string.Concat)),
        (2, Gen.Select(Piece, Gen.Int[195, 205], Repeat)),
        (2, Gen.Select(Piece, Gen.Int[995, 1005], Repeat)),
        (2, Gen.Select(Piece, Gen.Int[1995, 2005], Repeat)),
        (1, Gen.Select(Piece, Gen.Int[9995, 10005], Repeat)));

    /// <summary>Any JSON value a field could hold, strings most often.</summary>
    public static readonly Gen<FieldValue> Field = Gen.Frequency(
        (1, Gen.Const(new FieldValue(FieldShape.Absent, ""))),
        (1, Gen.Const(new FieldValue(FieldShape.Null, "null"))),
        (10, Text.Select(text => new FieldValue(FieldShape.Text, Quote(text), text))),
        (1, Gen.Int.Select(number => new FieldValue(FieldShape.Number, number.ToString(CultureInfo.InvariantCulture)))),
        (1, Gen.Bool.Select(value => new FieldValue(FieldShape.Boolean, value ? "true" : "false"))),
        (1, Gen.Const(new FieldValue(FieldShape.List, "[\"x\"]"))),
        (1, Gen.Const(new FieldValue(FieldShape.Map, "{\"value\":\"x\"}"))));

    /// <summary>A JSON object of the given fields, in a random order, with unknown fields mixed in.</summary>
    public static string JsonObject(IReadOnlyList<(string Name, FieldValue Value)> fields, int extras, int seed)
    {
        var members = fields.Where(field => field.Value.Shape != FieldShape.Absent).Select(field => Quote(field.Name) + ":" + field.Value.Json).ToList();
        for (var i = 0; i < extras; i++)
        {
            members.Add($"\"extra{i}\":" + (i % 3 == 0 ? "{\"a\":[1,null,true]}" : i % 3 == 1 ? "\"ignored\"" : "null"));
        }

        var random = new Random(seed);
        return "{" + string.Join(",", members.OrderBy(_ => random.Next())) + "}";
    }

    /// <summary>A JSON string literal escaping every UTF-16 unit outside printable ASCII, lone surrogates included.</summary>
    public static string Quote(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in text)
        {
            if (c is '"' or '\\')
            {
                builder.Append('\\').Append(c);
            }
            else if (c is < ' ' or > '~')
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.Append('"').ToString();
    }

    /// <summary>Text as a person can read it in a failure message: escapes for everything unusual, long runs shortened.</summary>
    public static string Visible(string text)
    {
        var quoted = Quote(text)[1..^1];
        return quoted.Length <= 120 ? quoted : $"{quoted[..60]}…{quoted[^40..]}";
    }

    private static string Repeat(string piece, int count) => string.Concat(Enumerable.Repeat(piece, count));
}
