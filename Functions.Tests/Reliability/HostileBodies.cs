using System.Text;
using System.Text.Json;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>One hostile request body: its bytes, the Content-Type it is sent with, and whether its length is declared.</summary>
public sealed record HostileBody(string Name, byte[] Bytes, string? ContentType = "application/json", bool DeclareLength = true)
{
    /// <summary>What the body is wrong about: the JSON or its size or media type (the same answer on every route), or a field's content.</summary>
    public HostileKind Kind { get; init; } = HostileKind.Json;

    public override string ToString() => Name;
}

public enum HostileKind
{
    /// <summary>Not a usable JSON object of the right shape: 400 on every route.</summary>
    Json,

    /// <summary>Over 64 KiB: 413.</summary>
    Size,

    /// <summary>Not JSON at all by its media type: 415.</summary>
    MediaType,

    /// <summary>Well-formed JSON whose strings are hostile: each route answers as it answers bad values.</summary>
    Content,
}

/// <summary>The hostile bodies of suite 3, built for one route from the names of its fields.</summary>
public static class HostileBodies
{
    private const int TenMegabytes = 10 * 1024 * 1024;

    /// <summary>Hostile bodies for a route whose valid body is <paramref name="valid"/> (field name to value).</summary>
    public static IReadOnlyList<HostileBody> For(IReadOnlyDictionary<string, string> valid)
    {
        var fields = valid.Keys.ToList();
        var first = fields[0];
        var validJson = JsonSerializer.Serialize(valid);
        var bodies = new List<HostileBody>
        {
            Json("malformed", $"{{\"{first}\":"),
            Json("truncated", validJson[..(validJson.Length / 2)]),
            Json("empty", ""),
            Json("whitespace only", "  \r\n\t "),
            Json("an array", "[]"),
            Json("an array of the object", $"[{validJson}]"),
            Json("a string", "\"text\""),
            Json("a number", "42"),
            Json("null", "null"),
            Json("true", "true"),
            Json("two objects", validJson + validJson),
            Json("trailing comma", $"{{\"{first}\":\"x\",}}"),
            Json("comment", $"{{/* hi */\"{first}\":\"x\"}}"),
            Json("single quotes", $"{{'{first}':'x'}}"),
            Json("unquoted name", $"{{{first}:\"x\"}}"),
            Json("duplicate keys", $"{{\"{first}\":\"a\",\"{first}\":\"b\"}}"),
            Json("duplicate keys in another case", $"{{\"{first}\":\"a\",\"{first.ToUpperInvariant()}\":\"b\"}}"),
            Json("deep nesting beside the fields", $"{{\"{first}\":\"x\",\"extra\":{new string('[', 5000)}{new string(']', 5000)}}}"),
            Json("deep nesting in a field", $"{{\"{first}\":{Nested(200)}}}"),
            Json("every field null", JsonSerializer.Serialize(fields.ToDictionary(field => field, _ => (object?)null))),
            Json("escaped unpaired high surrogate", $"{{\"{first}\":\"a\\ud800b\"}}"),
            Json("escaped unpaired low surrogate", $"{{\"{first}\":\"\\udc00\"}}"),
            Json("escaped surrogates in the wrong order", $"{{\"{first}\":\"\\ude00\\ud83d\"}}"),
            Json("a huge number", $"{{\"{first}\":1e999}}"),
            Json("a NaN", $"{{\"{first}\":NaN}}"),
            new HostileBody("invalid UTF-8", [.. Encoding.UTF8.GetBytes($"{{\"{first}\":\""), 0xC3, 0x28, .. "\"}"u8]),
            new HostileBody("a surrogate encoded as UTF-8", [.. Encoding.UTF8.GetBytes($"{{\"{first}\":\""), 0xED, 0xA0, 0x80, .. "\"}"u8]),
            new HostileBody("overlong UTF-8 for a quote", [.. Encoding.UTF8.GetBytes($"{{\"{first}\":\""), 0xC0, 0xA2, .. "\"}"u8]),
            new HostileBody("a UTF-16 body", Encoding.Unicode.GetBytes(validJson)),
            new HostileBody("a NUL byte between tokens", [.. "{\0"u8, .. Encoding.UTF8.GetBytes(validJson[1..])]),
            Size("65 KiB", Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, string> { [first] = new('a', 65 * 1024) })), declare: true),
            Size("10 MB, length declared", TenMegabytesOfJson(first), declare: true),
            Size("10 MB, length not declared", TenMegabytesOfJson(first), declare: false),
            MediaType("text/plain", validJson, "text/plain"),
            MediaType("a form", $"{first}=x", "application/x-www-form-urlencoded"),
            MediaType("multipart", "--b\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b"),
            MediaType("XML", $"<{first}>x</{first}>", "application/xml"),
            MediaType("text/json", validJson, "text/json"),
            MediaType("no Content-Type", validJson, null),
            MediaType("an empty Content-Type", validJson, ""),
            MediaType("JSON in UTF-16 by its charset", validJson, "application/json; charset=utf-16"),
            MediaType("JSON in Latin-1 by its charset", validJson, "application/json; charset=iso-8859-1"),
            MediaType("JavaScript", validJson, "application/javascript"),
            MediaType("a Content-Type that is not a media type", validJson, "json"),
            MediaType("JSON text sequences", validJson, "application/json-seq"),
        };

        foreach (var field in fields)
        {
            bodies.Add(Json($"{field} as a number", With(valid, field, 42)));
            bodies.Add(Json($"{field} as a boolean", With(valid, field, true)));
            bodies.Add(Json($"{field} as an array", With(valid, field, new[] { "x" })));
            bodies.Add(Json($"{field} as an object", With(valid, field, new { value = "x" })));
            bodies.Add(Content($"control characters in {field}", With(valid, field, valid[field] + "\u0000b\u0007c\u001bd\u007fe\u0085")));
            bodies.Add(Content($"10,000 characters in {field}", With(valid, field, new string('x', 10_000))));
            bodies.Add(Content($"U+FFFE in {field}", With(valid, field, valid[field] + "\ufffe")));
        }

        bodies.Add(Content("10,000 characters in every field", JsonSerializer.Serialize(fields.ToDictionary(field => field, _ => new string('y', 10_000)))));
        return bodies;
    }

    private static HostileBody Json(string name, string body) => new(name, Encoding.UTF8.GetBytes(body));

    private static HostileBody Content(string name, string body) => new(name, Encoding.UTF8.GetBytes(body)) { Kind = HostileKind.Content };

    private static HostileBody Size(string name, byte[] body, bool declare) => new(name, body, DeclareLength: declare) { Kind = HostileKind.Size };

    private static HostileBody MediaType(string name, string body, string? contentType) =>
        new(name, Encoding.UTF8.GetBytes(body), contentType) { Kind = HostileKind.MediaType };

    // The valid body with one field replaced.
    private static string With(IReadOnlyDictionary<string, string> valid, string field, object value) =>
        JsonSerializer.Serialize(valid.ToDictionary(pair => pair.Key, pair => pair.Key == field ? value : pair.Value));

    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    private static byte[] TenMegabytesOfJson(string field)
    {
        var prefix = Encoding.UTF8.GetBytes($"{{\"{field}\":\"");
        var body = new byte[TenMegabytes];
        body.AsSpan().Fill((byte)'a');
        prefix.CopyTo(body, 0);
        "\"}"u8.CopyTo(body.AsSpan(TenMegabytes - 2));
        return body;
    }
}
