using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Mfa;

/// <summary>
/// The client's part of two-step sign-in against the app's routes, with an authenticator app of the test's own: RFC 6238
/// (HMAC-SHA-1, 6 digits, 30 s) written here from the RFC, not the app's library, so the two agree only if the app is right.
/// </summary>
public static class MfaFlows
{
    /// <summary>The code an authenticator app shows at <paramref name="time"/>.</summary>
    public static string CodeAt(byte[] secret, DateTimeOffset time)
    {
        Span<byte> counter = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(counter, time.ToUnixTimeSeconds() / 30);
#pragma warning disable CA5350 // RFC 6238's default, which every authenticator app uses; the app's own code must agree with it.
        var hash = HMACSHA1.HashData(secret, counter);
#pragma warning restore CA5350
        var offset = hash[^1] & 0x0f;
        var binary = ((hash[offset] & 0x7f) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
        return (binary % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
    }

    public static string CodeNow(byte[] secret, FakeTimeProvider clock) => CodeAt(secret, clock.GetUtcNow());

    /// <summary>Moves the clock to the next 30-second step, so the next code is a new one.</summary>
    public static void NextStep(this FakeTimeProvider clock) => clock.Advance(TimeSpan.FromSeconds(30));

    /// <summary>RFC 4648 base32, as the secret is shown for typing in.</summary>
    public static byte[] FromBase32(string text)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bits = 0;
        var value = 0;
        var bytes = new List<byte>();
        foreach (var c in text.TrimEnd('='))
        {
            value = (value << 5) | Alphabet.IndexOf(char.ToUpperInvariant(c), StringComparison.Ordinal);
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)(value >> (bits - 8)));
                bits -= 8;
            }
        }

        return [.. bytes];
    }

    public static Task<TestResponse> EnrolAsync(this TestApp app, SignedInUser user, string password = AccountsTestExtensions.GoodPassword) =>
        app.PostJsonAsync("/api/me/mfa/totp", new { password }, user.AccessToken);

    public static Task<TestResponse> ConfirmTotpAsync(this TestApp app, SignedInUser user, string code) =>
        app.PostJsonAsync("/api/me/mfa/totp/confirm", new { code }, user.AccessToken);

    /// <summary>Enrols and confirms with the current code; the secret and the recovery codes. The clock moves on a step after.</summary>
    public static async Task<(byte[] Secret, string[] RecoveryCodes)> TurnOnAsync(this TestApp app, SignedInUser user, FakeTimeProvider clock)
    {
        var enrolled = await app.EnrolAsync(user);
        Assert.True(enrolled.Status == 200, enrolled.ToString());
        var secret = FromBase32(enrolled.Json.GetProperty("secret").GetString()!);
        var confirmed = await app.ConfirmTotpAsync(user, CodeNow(secret, clock));
        Assert.True(confirmed.Status == 200, confirmed.ToString());
        clock.NextStep();
        return (secret, [.. confirmed.Json.GetProperty("recoveryCodes").EnumerateArray().Select(code => code.GetString()!)]);
    }

    /// <summary>The password step of a sign-in with two-step sign-in on: asserts the mfaRequired answer, returns its token.</summary>
    public static async Task<string> StartSignInAsync(this TestApp app, string email, string password = AccountsTestExtensions.GoodPassword)
    {
        var response = await app.LoginAsync(email, password);
        Assert.True(response.Status == 200, response.ToString());
        return MfaTokenOf(response);
    }

    public static string MfaTokenOf(TestResponse response)
    {
        Assert.True(response.Json.GetProperty("mfaRequired").GetBoolean(), response.ToString());
        Assert.False(response.Json.TryGetProperty("accessToken", out _), response.ToString());
        Assert.False(response.Json.TryGetProperty("refreshToken", out _), response.ToString());
        Assert.Equal(300, response.Json.GetProperty("expiresIn").GetInt32());
        return response.Json.GetProperty("mfaToken").GetString()!;
    }

    public static Task<TestResponse> FinishWithCodeAsync(this TestApp app, string mfaToken, string code) =>
        app.PostJsonAsync("/api/auth/login/mfa", new { mfaToken, code });

    public static Task<TestResponse> FinishWithRecoveryCodeAsync(this TestApp app, string mfaToken, string recoveryCode) =>
        app.PostJsonAsync("/api/auth/login/mfa", new { mfaToken, recoveryCode });

    public static bool IsSession(TestResponse response) =>
        response.Status == 200 && response.Json.TryGetProperty("accessToken", out var token) && token.ValueKind == JsonValueKind.String;
}
