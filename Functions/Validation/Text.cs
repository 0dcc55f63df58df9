using System.Buffers;
using System.Text;

namespace Serverless.Functions.Validation;

/// <summary>Checks shared by every text field: well-formed UTF-16, NFC, no control characters, length in code points.</summary>
public static class Text
{
    /// <summary>
    /// Trims (unless <paramref name="trim"/> is false) and NFC-normalizes; false for text no stored string may hold:
    /// unpaired surrogates, and code points the platform's normalizer refuses.
    /// </summary>
    public static bool TryNormalize(string value, out string normalized, bool trim = true)
    {
        normalized = "";
        if (!IsWellFormed(value))
        {
            return false;
        }

        var text = trim ? value.Trim() : value;
        try
        {
            normalized = text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
            return true;
        }
        catch (ArgumentException)
        {
            // ICU (Linux, so Azure Functions) throws for U+FFFE, which is well-formed UTF-16 and valid in JSON.
            return false;
        }
    }

    public static bool IsWellFormed(ReadOnlySpan<char> value)
    {
        while (!value.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(value, out _, out var consumed) != OperationStatus.Done)
            {
                return false;
            }

            value = value[consumed..];
        }

        return true;
    }

    /// <summary>Control characters other than the line breaks and tabs that <paramref name="allowLineBreaks"/> lets through.</summary>
    public static bool HasControlCharacters(string value, bool allowLineBreaks = false) =>
        value.Any(c => char.IsControl(c) && !(allowLineBreaks && c is '\n' or '\r' or '\t'));

    /// <summary>Length as a person counts it: Unicode code points, not UTF-16 units.</summary>
    public static int CodePoints(string value)
    {
        var count = 0;
        foreach (var _ in value.EnumerateRunes())
        {
            count++;
        }

        return count;
    }
}
