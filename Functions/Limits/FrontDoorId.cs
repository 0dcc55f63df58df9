using System.Security.Cryptography;

namespace Serverless.Functions.Limits;

/// <summary>
/// The Front Door profile's id (<c>X-Azure-FDID</c>), the proof that a request came through our own profile. It stays out of
/// <see cref="ToString"/> (and so out of logs and record printouts), and a header is compared with it in constant time, so
/// neither a log reader nor a timing attacker learns it.
/// </summary>
public sealed class FrontDoorId
{
    private readonly byte[] id;

    private FrontDoorId(Guid id) => this.id = id.ToByteArray();

    /// <summary>The id as Front Door sends it and the portal shows it: a GUID such as <c>55ce4ed1-4b06-4bf1-b40e-4638452104da</c>, any case.</summary>
    public static FrontDoorId? TryParse(string? text) =>
        Guid.TryParseExact(text?.Trim(), "D", out var id) && id != Guid.Empty ? new FrontDoorId(id) : null;

    /// <summary>
    /// Whether a header value is this id. Parsing depends on the header alone; the comparison with the id takes as long
    /// whichever bytes differ.
    /// </summary>
    public bool Matches(string? headerValue) =>
        Guid.TryParseExact(headerValue, "D", out var sent) && CryptographicOperations.FixedTimeEquals(sent.ToByteArray(), id);

    public override string ToString() => "(Front Door id, not shown)";
}
