using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Serverless.Functions.Items;

/// <summary>
/// Item ids sort newest first: 19 digits of (max ticks − creation ticks), then 16 random hex digits so two items
/// made in the same tick still differ. The creation time is read back from the id, so no write needs a read first.
/// </summary>
public static partial class ItemId
{
    public static string New(DateTime createdAt) =>
        (DateTime.MaxValue.Ticks - createdAt.Ticks).ToString("D19", CultureInfo.InvariantCulture)
        + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>Only ids this class could have made reach storage: anything else is simply not found.</summary>
    public static bool IsValid(string? id) => id is not null && Shape().IsMatch(id);

    public static DateTime CreatedAt(string id) =>
        new(DateTime.MaxValue.Ticks - long.Parse(id.AsSpan(0, 19), CultureInfo.InvariantCulture), DateTimeKind.Utc);

    // \z, not $: "$" also matches before a final line break, which would let "<id>\n" through to storage.
    [GeneratedRegex(@"^[0-9]{19}[0-9a-f]{16}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();
}
