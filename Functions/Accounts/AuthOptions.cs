using System.Text;
using Microsoft.Extensions.Configuration;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Accounts;

/// <summary>The <c>Auth</c> settings, read and checked once at start-up.</summary>
public sealed record AuthOptions
{
    public const string Section = "Auth";
    public const int MinSigningKeyBytes = 32;
    public const int DefaultMinPasswordLength = 15;
    public const int LowestMinPasswordLength = 8;
    public const int MaxPasswordLength = 128;
    private const string DevelopmentKeyMarker = "DEVELOPMENT-ONLY";

    public required byte[] SigningKey { get; init; }

    /// <summary>The signing key before the last rotation: tokens and item cursors it signed stay valid; nothing new is signed with it.</summary>
    public byte[]? PreviousSigningKey { get; init; }

    /// <summary>The <c>kid</c> of tokens signed with <see cref="SigningKey"/>, derived from the key so a rotation changes it.</summary>
    public string KeyId => SigningKeys.IdOf(SigningKey);

    public string? PreviousKeyId => PreviousSigningKey is null ? null : SigningKeys.IdOf(PreviousSigningKey);

    /// <summary>The HMAC secret of <see cref="AccountKeys"/>. Changing it changes every account's key: the accounts stored under the old keys are lost.</summary>
    public required byte[] IdentifierHashKey { get; init; }

    public string Issuer { get; init; } = "serverless";
    public string Audience { get; init; } = "serverless";
    public TimeSpan AccessTokenLifetime { get; init; } = TimeSpan.FromMinutes(15);
    public TimeSpan RefreshTokenLifetime { get; init; } = TimeSpan.FromDays(14);

    /// <summary>How long a session lasts from its login, however often it is refreshed (docs/api.md: default 90 days).</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromDays(90);
    public int MinPasswordLength { get; init; } = DefaultMinPasswordLength;
    public Argon2Settings Argon2 { get; init; } = Argon2Settings.Default;

    public static AuthOptions FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var keyBytes = SecretFrom(section, "SigningKey")
            ?? throw new InvalidOperationException("Setting 'Auth__SigningKey' is missing: set it to a random secret of at least 32 bytes (e.g. openssl rand -base64 48).");

        // The key before the last rotation, accepted (never used to sign) so tokens and cursors it signed keep working.
        var previousKeyBytes = SecretFrom(section, "PreviousSigningKey");
        var identifierHashKey = SecretFrom(section, "IdentifierHashKey")
            ?? throw new InvalidOperationException("Setting 'Auth__IdentifierHashKey' is missing: set it to a random secret of at least 32 bytes (e.g. openssl rand -base64 48), kept for the life of the data: account keys are derived from it.");

        var options = new AuthOptions
        {
            SigningKey = keyBytes,
            PreviousSigningKey = previousKeyBytes is null || previousKeyBytes.AsSpan().SequenceEqual(keyBytes) ? null : previousKeyBytes,
            IdentifierHashKey = identifierHashKey,
            Issuer = section["Issuer"] ?? "serverless",
            Audience = section["Audience"] ?? "serverless",
            AccessTokenLifetime = Seconds(section, "AccessTokenLifetimeSeconds", TimeSpan.FromMinutes(15), min: 60),
            RefreshTokenLifetime = Seconds(section, "RefreshTokenLifetimeSeconds", TimeSpan.FromDays(14), min: 300),
            SessionLifetime = Seconds(section, "SessionLifetimeSeconds", TimeSpan.FromDays(90), min: 300),
            MinPasswordLength = Integer(section, "MinPasswordLength", DefaultMinPasswordLength, LowestMinPasswordLength, MaxPasswordLength),
            Argon2 = new Argon2Settings(
                MemoryKiB: Integer(section, "Argon2:MemoryKiB", Argon2Settings.Default.MemoryKiB, Argon2Settings.Default.MemoryKiB, 4 * 1024 * 1024),
                Iterations: Integer(section, "Argon2:Iterations", Argon2Settings.Default.Iterations, Argon2Settings.Default.Iterations, 100),
                Parallelism: 1),
        };
        return options;
    }

    // Null when the setting is absent or empty; otherwise checked as strictly as the signing key.
    internal static byte[]? SecretFrom(IConfigurationSection section, string name)
    {
        var key = section[name];
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }

        if (key.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase))
        {
            // App Service passes the reference text through when it cannot resolve it; that text is no secret.
            throw new InvalidOperationException($"Setting 'Auth__{name}' is an unresolved Key Vault reference: check the app identity's access to the vault.");
        }

        var keyBytes = Encoding.UTF8.GetBytes(key);
        if (keyBytes.Length < MinSigningKeyBytes)
        {
            throw new InvalidOperationException($"Setting 'Auth__{name}' is too short: it must be at least {MinSigningKeyBytes} bytes (256 bits).");
        }

        if (key.Contains(DevelopmentKeyMarker, StringComparison.Ordinal) && IsRunningInAzure())
        {
            throw new InvalidOperationException($"Setting 'Auth__{name}' holds the development-only key from local.settings.json.example; Azure needs its own secret.");
        }

        return keyBytes;
    }

    private static bool IsRunningInAzure() => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WEBSITE_INSTANCE_ID"));

    private static TimeSpan Seconds(IConfigurationSection section, string name, TimeSpan fallback, int min) =>
        TimeSpan.FromSeconds(Integer(section, name, (int)fallback.TotalSeconds, min, int.MaxValue));

    private static int Integer(IConfigurationSection section, string name, int fallback, int min, int max)
    {
        var text = section[name];
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || value < min || value > max)
        {
            throw new InvalidOperationException($"Setting 'Auth__{name.Replace(":", "__", StringComparison.Ordinal)}' must be a whole number from {min} to {max}.");
        }

        return value;
    }
}

/// <summary>Argon2id cost: OWASP's floor is 19 MiB, 2 iterations, 1 lane; settings may raise it, never lower it.</summary>
public sealed record Argon2Settings(int MemoryKiB, int Iterations, int Parallelism)
{
    public static readonly Argon2Settings Default = new(19 * 1024, 2, 1);

    public bool IsWeakerThan(Argon2Settings other) =>
        MemoryKiB < other.MemoryKiB || Iterations < other.Iterations || Parallelism != other.Parallelism;
}
