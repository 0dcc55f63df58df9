using Microsoft.Extensions.Time.Testing;
using Serverless.Functions.Limits;
using Serverless.Functions.Tests.Mfa;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Contract;

/// <summary>The two-step sign-in routes driven to every status they document, on a clock the scenarios move (codes are per 30 s).</summary>
public sealed partial class ContractScenarios
{
    private static readonly FakeTimeProvider MfaClock = new(DateTimeOffset.UtcNow);

    private async Task MfaAsync(TestApp app)
    {
        var user = await app.NewUserAsync("contract-mfa");
        var proof = Serialize(new { password = AccountsTestExtensions.GoodPassword });
        await SendAsync(app, "set up two-step sign-in without a token", "POST", "/api/me/mfa/totp", proof, Json);
        await SendAsync(app, "set up two-step sign-in with a wrong password", "POST", "/api/me/mfa/totp", Serialize(new { password = "not it" }), Json, user.AccessToken);
        await BadBodiesAsync(app, "POST", "/api/me/mfa/totp", user.AccessToken);
        await SendAsync(app, "turn two-step sign-in off while it is off", "DELETE", "/api/me/mfa/totp",
            Serialize(new { password = AccountsTestExtensions.GoodPassword, code = "123456" }), Json, user.AccessToken);
        await SendAsync(app, "new recovery codes while it is off", "POST", "/api/me/mfa/recovery-codes",
            Serialize(new { password = AccountsTestExtensions.GoodPassword, code = "123456" }), Json, user.AccessToken);
        var enrolled = await SendAsync(app, "set up two-step sign-in", "POST", "/api/me/mfa/totp", proof, Json, user.AccessToken);
        var secret = MfaFlows.FromBase32(enrolled.Json.GetProperty("secret").GetString()!);
        await SendAsync(app, "confirm with a wrong code", "POST", "/api/me/mfa/totp/confirm", Serialize(new { code = "12345x" }), Json, user.AccessToken);
        await SendAsync(app, "confirm without a token", "POST", "/api/me/mfa/totp/confirm", Serialize(new { code = "123456" }), Json);
        await BadBodiesAsync(app, "POST", "/api/me/mfa/totp/confirm", user.AccessToken);
        var confirmed = await SendAsync(app, "confirm with a current code", "POST", "/api/me/mfa/totp/confirm",
            Serialize(new { code = MfaFlows.CodeNow(secret, MfaClock) }), Json, user.AccessToken);
        var recovery = confirmed.Json.GetProperty("recoveryCodes")[0].GetString()!;
        await SendAsync(app, "confirm while it is on", "POST", "/api/me/mfa/totp/confirm", Serialize(new { code = "123456" }), Json, user.AccessToken);
        await SendAsync(app, "set up again while it is on", "POST", "/api/me/mfa/totp", proof, Json, user.AccessToken);
        MfaClock.NextStep();

        var login = await SendAsync(app, "login with two-step sign-in on", "POST", "/api/auth/login",
            Serialize(new { email = user.Email, password = AccountsTestExtensions.GoodPassword }), Json);
        var token = login.Json.GetProperty("mfaToken").GetString()!;
        await SendAsync(app, "second step without a code", "POST", "/api/auth/login/mfa", Serialize(new { mfaToken = token }), Json);
        await BadBodiesAsync(app, "POST", "/api/auth/login/mfa");
        await SendAsync(app, "second step with a wrong code", "POST", "/api/auth/login/mfa", Serialize(new { mfaToken = token, code = "000000" }), Json);
        await SendAsync(app, "second step with a current code", "POST", "/api/auth/login/mfa",
            Serialize(new { mfaToken = token, code = MfaFlows.CodeNow(secret, MfaClock) }), Json);
        await SendAsync(app, "second step with a spent token", "POST", "/api/auth/login/mfa", Serialize(new { mfaToken = token, recoveryCode = recovery }), Json);
        MfaClock.NextStep();

        await SendAsync(app, "new recovery codes without a token", "POST", "/api/me/mfa/recovery-codes", proof, Json);
        await BadBodiesAsync(app, "POST", "/api/me/mfa/recovery-codes", user.AccessToken);
        await SendAsync(app, "new recovery codes", "POST", "/api/me/mfa/recovery-codes",
            Serialize(new { password = AccountsTestExtensions.GoodPassword, code = MfaFlows.CodeNow(secret, MfaClock) }), Json, user.AccessToken);
        MfaClock.NextStep();
        await SendAsync(app, "turn it off without a token", "DELETE", "/api/me/mfa/totp", proof, Json);
        await BadBodiesAsync(app, "DELETE", "/api/me/mfa/totp", user.AccessToken);
        await SendAsync(app, "turn it off", "DELETE", "/api/me/mfa/totp",
            Serialize(new { password = AccountsTestExtensions.GoodPassword, code = MfaFlows.CodeNow(secret, MfaClock) }), Json, user.AccessToken);

        // The budget spent by wrong codes: the right code is 429 too; and wrong passwords at set-up.
        var guessed = await app.NewUserAsync("contract-mfa-guessed");
        var (guessedSecret, _) = await app.TurnOnAsync(guessed, MfaClock);
        var guessedToken = await app.StartSignInAsync(guessed.Email);
        for (var i = 0; i < LoginThrottle.MaxAttempts - 1; i++)
        {
            await app.FinishWithCodeAsync(guessedToken, "000000");
        }

        await SendAsync(app, "second step over the account's budget", "POST", "/api/auth/login/mfa",
            Serialize(new { mfaToken = guessedToken, code = MfaFlows.CodeNow(guessedSecret, MfaClock) }), Json);
        var spent = await app.NewUserAsync("contract-mfa-spent");
        for (var i = 0; i < LoginThrottle.MaxAttempts; i++)
        {
            await app.EnrolAsync(spent, "not the password " + i);
        }

        await SendAsync(app, "set up over the account's budget", "POST", "/api/me/mfa/totp", proof, Json, spent.AccessToken);
        MfaClock.Advance(LoginThrottle.Window);
    }

    private async Task MfaOutagesAsync(TestApp down, SignedInUser ada)
    {
        var proof = Serialize(new { password = AccountsTestExtensions.GoodPassword, code = "123456" });
        await SendAsync(down, "set up two-step sign-in while storage is down", "POST", "/api/me/mfa/totp", proof, Json, ada.AccessToken);
        await SendAsync(down, "confirm while storage is down", "POST", "/api/me/mfa/totp/confirm", Serialize(new { code = "123456" }), Json, ada.AccessToken);
        await SendAsync(down, "turn it off while storage is down", "DELETE", "/api/me/mfa/totp", proof, Json, ada.AccessToken);
        await SendAsync(down, "new recovery codes while storage is down", "POST", "/api/me/mfa/recovery-codes", proof, Json, ada.AccessToken);
        await SendAsync(down, "second step while storage is down", "POST", "/api/auth/login/mfa",
            Serialize(new { mfaToken = Functions.Mfa.MfaToken.New(Functions.Mfa.MfaToken.New("unused").Secret).ToString(), code = "123456" }), Json);
    }
}
