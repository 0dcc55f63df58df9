using System.Buffers;
using System.Text;

namespace Serverless.Functions.Validation;

/// <summary>Checks shared by every text field: well-formed UTF-16, NFC, no control characters, length in code points.</summary>
public static class Text
{
    /// <summary>Trims and NFC-normalizes; false for unpaired surrogates, which no stored string may hold.</summary>
    public static bool TryNormalize(string value, out string normalized)
    {
        normalized = "";
        if (!IsWellFormed(value))
        {
            return false;
        }

        var trimmed = value.Trim();
        normalized = trimmed.IsNormalized(NormalizationForm.FormC) ? trimmed : trimmed.Normalize(NormalizationForm.FormC);
        return true;
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
