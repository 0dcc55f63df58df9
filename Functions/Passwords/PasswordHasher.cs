using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Passwords;

/// <summary>
/// Argon2id through libsodium (NSec). Hashes are PHC strings — <c>$argon2id$v=19$m=19456,t=2,p=1$salt$hash</c> —
/// so each records its own cost, and a hash made with a lower cost can be recognised and upgraded.
/// </summary>
public sealed class PasswordHasher
{
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const string Prefix = "$argon2id$v=19$";

    // Any salt will do for a derivation whose result is thrown away.
    private static readonly byte[] DummySalt = new byte[SaltBytes];
    private static readonly byte[] DummyHash = new byte[HashBytes];

    private readonly Argon2Settings current;
    private long derivations;

    // No hash is made here: this runs on a cold start's first request, and an Argon2id hash there cost that request tens of ms.
    public PasswordHasher(AuthOptions options)
    {
        current = options.Argon2;
    }

    /// <summary>Argon2id derivations this instance has run (hashes, verifications and dummy verifications): what a request costs in CPU.</summary>
    public long Derivations => Interlocked.Read(ref derivations);

    public string Hash(string password)
    {
        Interlocked.Increment(ref derivations);
        return Hash(password, current);
    }

    public static string Hash(string password, Argon2Settings settings)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Derive(password, salt, settings);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Prefix}m={settings.MemoryKiB},t={settings.Iterations},p={settings.Parallelism}${Unpadded(salt)}${Unpadded(hash)}");
    }

    /// <summary>Constant-time check; <see cref="PasswordCheck.NeedsUpgrade"/> when the hash's cost is below today's.</summary>
    public PasswordCheck Verify(string password, string encoded)
    {
        if (!TryParse(encoded, out var settings, out var salt, out var expected))
        {
            return PasswordCheck.Wrong;
        }

        Interlocked.Increment(ref derivations);
        var actual = Derive(password, salt, settings);
        if (!CryptographicOperations.FixedTimeEquals(actual, expected))
        {
            return PasswordCheck.Wrong;
        }

        return settings.IsWeakerThan(current) ? PasswordCheck.NeedsUpgrade : PasswordCheck.Correct;
    }

    /// <summary>Spends one verification's time when there is no account, so timing does not tell which emails exist.</summary>
    public void VerifyNothing(string password)
    {
        Interlocked.Increment(ref derivations);
        _ = CryptographicOperations.FixedTimeEquals(Derive(password, DummySalt, current), DummyHash);
    }

    private static byte[] Derive(string password, byte[] salt, Argon2Settings settings)
    {
        var parameters = new Argon2Parameters
        {
            MemorySize = settings.MemoryKiB,
            NumberOfPasses = settings.Iterations,
            DegreeOfParallelism = settings.Parallelism,
        };
        var algorithm = PasswordBasedKeyDerivationAlgorithm.Argon2id(in parameters);
        return algorithm.DeriveBytes(Encoding.UTF8.GetBytes(password.Normalize(NormalizationForm.FormC)), salt, HashBytes);
    }

    private static bool TryParse(string encoded, out Argon2Settings settings, out byte[] salt, out byte[] hash)
    {
        settings = Argon2Settings.Default;
        salt = hash = [];
        var parts = encoded.Split('$');
        // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
        if (parts.Length != 6 || parts[1] != "argon2id" || parts[2] != "v=19")
        {
            return false;
        }

        var costs = parts[3].Split(',').Select(part => part.Split('=')).ToArray();
        if (costs.Length != 3 || costs.Any(pair => pair.Length != 2)
            || !int.TryParse(costs[0][1], CultureInfo.InvariantCulture, out var memory)
            || !int.TryParse(costs[1][1], CultureInfo.InvariantCulture, out var iterations)
            || !int.TryParse(costs[2][1], CultureInfo.InvariantCulture, out var parallelism))
        {
            return false;
        }

        settings = new Argon2Settings(memory, iterations, parallelism);
        salt = FromUnpadded(parts[4]);
        hash = FromUnpadded(parts[5]);
        return salt.Length >= 8 && hash.Length == HashBytes;
    }

    // PHC strings use standard Base64 without padding.
    private static string Unpadded(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static byte[] FromUnpadded(string text)
    {
        var padded = text.PadRight(text.Length + (4 - text.Length % 4) % 4, '=');
        return Convert.TryFromBase64String(padded, new byte[padded.Length], out _) ? Convert.FromBase64String(padded) : [];
    }
}

public enum PasswordCheck
{
    Wrong,
    Correct,
    NeedsUpgrade,
}
