using System.Buffers.Binary;
using System.Security.Cryptography;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Passkeys;

/// <summary>What a ceremony's challenge was issued for; a challenge answers only a ceremony of its own kind.</summary>
public enum CeremonyPurpose : byte
{
    Register = 1,
    SignIn = 2,
    Signup = 3,
}

/// <summary>
/// A ceremony's challenge: its purpose, the time it was issued (milliseconds since 1970, so its age and the storage
/// partition of its row are known from the challenge the client sends back, before any storage request) and 256 random
/// bits. The bytes are not secret but single-use: the row that proves one was issued is deleted when it is answered.
/// </summary>
public sealed record PasskeyChallenge(CeremonyPurpose Purpose, DateTime IssuedAt, byte[] Bytes)
{
    private const int RandomBytes = 32;
    private const int Length = 1 + 8 + RandomBytes;

    /// <summary>A challenge answered after this was issued too long ago, or claims a time ahead of the server's clock, is refused.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    public static PasskeyChallenge New(CeremonyPurpose purpose, DateTime now)
    {
        var bytes = new byte[Length];
        bytes[0] = (byte)purpose;
        var milliseconds = new DateTimeOffset(now, TimeSpan.Zero).ToUnixTimeMilliseconds();
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(1, 8), milliseconds);
        RandomNumberGenerator.Fill(bytes.AsSpan(9));
        return new PasskeyChallenge(purpose, DateTimeOffset.FromUnixTimeMilliseconds(milliseconds).UtcDateTime, bytes);
    }

    /// <summary>The challenge a client sent back (base64url, from its clientDataJSON), or null when it is not one of ours in shape.</summary>
    public static PasskeyChallenge? TryParse(byte[]? bytes)
    {
        if (bytes is not { Length: Length } || !Enum.IsDefined((CeremonyPurpose)bytes[0]))
        {
            return null;
        }

        var milliseconds = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(1, 8));
        if (milliseconds < 0 || milliseconds > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            return null;
        }

        return new PasskeyChallenge((CeremonyPurpose)bytes[0], DateTimeOffset.FromUnixTimeMilliseconds(milliseconds).UtcDateTime, bytes);
    }

    /// <summary>Whether the challenge may still be answered at <paramref name="now"/>: at most 5 minutes old, not from the future.</summary>
    public bool IsFresh(DateTime now) => IssuedAt <= now + ClockSkew && now - IssuedAt <= PasskeyOptions.ChallengeLifetime;

    /// <summary>The hash the challenge's row is stored under: the row never holds the challenge itself.</summary>
    public string Hash => Base64Url.Encode(SHA256.HashData(Bytes));
}
