using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Tokens;

/// <summary>The signed-in caller, as a validated access token names them.</summary>
public sealed record Caller(string UserId, string AccountKey, string? SessionId = null);

/// <summary>
/// HS256 JWTs: <c>sub</c> is the user id, <c>acct</c> the Users row key (so /me is one point read), <c>sid</c> the session
/// it was issued for (so the sessions list knows the current one), <c>kid</c> names the key (the current one signs; the
/// previous one, during a rotation, is still accepted).
/// Validation pins the algorithm, checks issuer, audience and lifetime, and allows 30 seconds of clock skew.
/// </summary>
public sealed class AccessTokens : IDisposable
{
    public const string AccountKeyClaim = "acct";
    public const string SessionIdClaim = "sid";
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    private readonly AuthOptions options;
    private readonly TimeProvider clock;
    private readonly JsonWebTokenHandler handler = new() { MapInboundClaims = false, SetDefaultTimesOnTokenCreation = false };
    private readonly SigningCredentials signing;
    private readonly TokenValidationParameters validation;

    // A client sends the same token with every request for 15 minutes, and validating it again costs about 5% of a list
    // request (docs/performance.md). Only tokens that passed validation are kept, keyed by their exact text, and each
    // use still checks the lifetime, so this changes no answer; the bound keeps memory flat whatever callers send.
    private const int MaxRememberedTokens = 4096;
    private readonly MemoryCache validated = new(new MemoryCacheOptions { SizeLimit = MaxRememberedTokens });

    public AccessTokens(AuthOptions options, TimeProvider clock)
    {
        this.options = options;
        this.clock = clock;
        var key = new SymmetricSecurityKey(options.SigningKey) { KeyId = options.KeyId };
        signing = new SigningCredentials(key, SecurityAlgorithms.HmacSha256);

        // The current key and, during a rotation, the previous one; a token names its key by kid, and only that key is
        // tried: an unknown or missing kid is refused rather than checked against every key.
        SecurityKey[] keys = options.PreviousSigningKey is { } previous
            ? [key, new SymmetricSecurityKey(previous) { KeyId = options.PreviousKeyId }]
            : [key];
        validation = new TokenValidationParameters
        {
            ValidIssuer = options.Issuer,
            ValidAudience = options.Audience,
            IssuerSigningKeys = keys,
            IssuerSigningKeyResolver = (_, _, kid, _) => keys.Where(candidate => candidate.KeyId == kid),
            TryAllIssuerSigningKeys = false,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = ClockSkew,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            LifetimeValidator = ValidateLifetime,
        };
    }

    public int LifetimeSeconds => (int)options.AccessTokenLifetime.TotalSeconds;

    public string Issue(string userId, string accountKey, string? sessionId = null)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object>
        {
            [JwtRegisteredClaimNames.Sub] = userId,
            [AccountKeyClaim] = accountKey,
            [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
        };
        if (sessionId is not null)
        {
            claims[SessionIdClaim] = sessionId;
        }

        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            Issuer = options.Issuer,
            Audience = options.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + options.AccessTokenLifetime,
            SigningCredentials = signing,
        });
    }

    public async Task<Caller?> ValidateAsync(string token)
    {
        if (validated.TryGetValue(token, out ValidatedToken? known) && known is not null)
        {
            return IsCurrent(known.NotBefore, known.Expires) ? known.Caller : null;
        }

        var result = await handler.ValidateTokenAsync(token, validation);
        if (!result.IsValid
            || result.ClaimsIdentity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value is not { Length: > 0 } userId
            || result.ClaimsIdentity.FindFirst(AccountKeyClaim)?.Value is not { Length: > 0 } accountKey)
        {
            return null;
        }

        var caller = new Caller(userId, accountKey, result.ClaimsIdentity.FindFirst(SessionIdClaim)?.Value);
        var jwt = (JsonWebToken)result.SecurityToken;
        validated.Set(token, new ValidatedToken(caller, jwt.ValidFrom, jwt.ValidTo), new MemoryCacheEntryOptions
        {
            Size = 1,
            AbsoluteExpiration = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero) + ClockSkew,
        });
        return caller;
    }

    public void Dispose() => validated.Dispose();

    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters) =>
        IsCurrent(notBefore, expires);

    // The library's own check reads the system clock; ours reads the injected one, with the same rules.
    private bool IsCurrent(DateTime? notBefore, DateTime? expires)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return expires is { } expiry && now < expiry.ToUniversalTime() + ClockSkew
            && (notBefore is not { } start || now + ClockSkew >= start.ToUniversalTime());
    }

    private sealed record ValidatedToken(Caller Caller, DateTime NotBefore, DateTime Expires);
}
