using System.Text;
using Azure.Data.Tables;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Serverless.Functions.Items;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Tests.Tokens;

/// <summary>
/// Signing-key rotation (issue 13.8): after a rotation the app signs with the new key and still accepts, by kid, what the
/// previous key signed (access tokens and item cursors) until that key is removed from configuration.
/// Each "deployment" below is a fresh app with its own settings, as a restart after a Key Vault change would be.
/// </summary>
public sealed class SigningKeyRotationTests(AzuriteFixture azurite)
{
    private const string OldKey = "rotation-tests-old-signing-key-0123456789-abcdefghijklmnopqrstuvwxyz";
    private const string NewKey = "rotation-tests-new-signing-key-0123456789-abcdefghijklmnopqrstuvwxyz";
    private const string AttackerKey = "an-attackers-own-signing-key-0123456789-abcdefghijklmnopqrstuvwxyz";

    private TestApp Deploy(string current, string? previous = null) => TestApp.Create(azurite.ConnectionString, new Dictionary<string, string?>
    {
        ["Auth:SigningKey"] = current,
        ["Auth:PreviousSigningKey"] = previous,
    });

    private static string KeyId(string key) => SigningKeys.IdOf(Encoding.UTF8.GetBytes(key));

    /// <summary>A user signed in before the rotation, with a second page of items to come (a cursor).</summary>
    private static async Task<(SignedInUser User, string Cursor)> SignedInWithCursorAsync(TestApp app)
    {
        var user = await app.NewUserAsync("rotation");
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(201, (await app.PostJsonAsync("/api/items", new { title = "Item " + i }, user.AccessToken)).Status);
        }

        var page = await app.GetAsync("/api/items?limit=1", user.AccessToken);
        return (user, page.Json.GetProperty("nextCursor").GetString()!);
    }

    // Each deployment here has tables of its own; a real redeployment keeps the storage, so the users' owner markers come along.
    private static async Task CarryOverAsync(TestApp deployment, params SignedInUser[] users)
    {
        var items = deployment.Table(AppTables.Items);
        await items.CreateIfNotExistsAsync(TestContext.Current.CancellationToken);
        foreach (var user in users)
        {
            await items.UpsertEntityAsync(new TableEntity(user.Id, ItemStore.MarkerRowKey),
                cancellationToken: TestContext.Current.CancellationToken);
        }
    }

    private static Task<TestResponse> NextPageAsync(TestApp app, string token, string cursor) =>
        app.GetAsync("/api/items?limit=1&cursor=" + Uri.EscapeDataString(cursor), token);

    [Fact]
    public async Task After_a_rotation_tokens_and_cursors_of_the_previous_key_keep_working_and_new_tokens_use_the_new_key()
    {
        await using var before = Deploy(OldKey);
        var (user, cursor) = await SignedInWithCursorAsync(before);
        Assert.Equal(KeyId(OldKey), new JsonWebToken(user.AccessToken).Kid);

        await using var after = Deploy(NewKey, previous: OldKey);
        await CarryOverAsync(after, user);
        var oldToken = await NextPageAsync(after, user.AccessToken, cursor);
        var fresh = await after.NewUserAsync("after-rotation");

        Assert.True(oldToken.Status == 200, oldToken.ToString());
        Assert.Equal(KeyId(NewKey), new JsonWebToken(fresh.AccessToken).Kid);
        Assert.NotEqual(KeyId(OldKey), KeyId(NewKey));
    }

    [Fact]
    public async Task Once_the_previous_key_is_removed_its_tokens_are_401_and_its_cursors_400()
    {
        await using var before = Deploy(OldKey);
        var (user, cursor) = await SignedInWithCursorAsync(before);
        await using var rotated = Deploy(NewKey, previous: OldKey);
        var fresh = await rotated.NewUserAsync("rotated");

        await using var finished = Deploy(NewKey);
        await CarryOverAsync(finished, user, fresh);
        var oldToken = await finished.GetAsync("/api/items", user.AccessToken);
        var oldCursor = await NextPageAsync(finished, fresh.AccessToken, cursor);
        var newToken = await finished.GetAsync("/api/items", fresh.AccessToken);

        Assert.Equal(401, oldToken.Status);
        Assert.Equal(400, oldCursor.Status);
        Assert.True(oldCursor.Json.GetProperty("errors").TryGetProperty("cursor", out _), oldCursor.Body);
        Assert.Equal(200, newToken.Status);
    }

    [Theory]
    [InlineData("unknown kid, signed with the current key")]
    [InlineData("no kid, signed with the current key")]
    [InlineData("current kid, signed with the previous key")]
    [InlineData("previous kid, signed with the current key")]
    [InlineData("current kid, signed with an attacker's key")]
    [InlineData("previous kid, signed with an attacker's key")]
    [InlineData("alg none with the current kid")]
    [InlineData("HS512 with the current key and kid")]
    [InlineData("HS384 with the previous key and kid")]
    public async Task A_token_not_signed_by_the_key_its_kid_names_is_401(string attack)
    {
        await using var app = Deploy(NewKey, previous: OldKey);
        var victim = await app.NewUserAsync("rotation-victim");
        var account = new JsonWebToken(victim.AccessToken).GetClaim(AccessTokens.AccountKeyClaim).Value;
        var token = attack switch
        {
            "unknown kid, signed with the current key" => Forge(victim.Id, account, NewKey, "k1"),
            "no kid, signed with the current key" => Forge(victim.Id, account, NewKey, kid: null),
            "current kid, signed with the previous key" => Forge(victim.Id, account, OldKey, KeyId(NewKey)),
            "previous kid, signed with the current key" => Forge(victim.Id, account, NewKey, KeyId(OldKey)),
            "current kid, signed with an attacker's key" => Forge(victim.Id, account, AttackerKey, KeyId(NewKey)),
            "previous kid, signed with an attacker's key" => Forge(victim.Id, account, AttackerKey, KeyId(OldKey)),
            "alg none with the current kid" => Unsigned(victim.Id, account, KeyId(NewKey)),
            "HS512 with the current key and kid" => Forge(victim.Id, account, NewKey, KeyId(NewKey), SecurityAlgorithms.HmacSha512),
            "HS384 with the previous key and kid" => Forge(victim.Id, account, OldKey, KeyId(OldKey), SecurityAlgorithms.HmacSha384),
            _ => throw new ArgumentOutOfRangeException(nameof(attack), attack, null),
        };

        var response = await app.GetAsync("/api/items", token);
        var control = await app.GetAsync("/api/items", Forge(victim.Id, account, OldKey, KeyId(OldKey)));

        Assert.True(response.Status == 401, $"{attack}: {response}");
        Assert.Equal(200, control.Status);
    }

    [Theory]
    [InlineData("too short to be a key")]
    [InlineData("@Microsoft.KeyVault(SecretUri=https://kv-example.vault.azure.net/secrets/auth-signing-key/0123)")]
    public void Start_up_fails_with_a_previous_key_that_is_not_a_key(string previous)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Deploy(NewKey, previous));

        Assert.Contains("Auth__PreviousSigningKey", error.Message, StringComparison.Ordinal);
    }

    private static string Forge(string userId, string account, string key, string? kid, string algorithm = SecurityAlgorithms.HmacSha256) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(Descriptor(userId, account,
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)) { KeyId = kid }, algorithm)));

    // A genuine token's payload under a header saying "alg": "none", without its signature.
    private static string Unsigned(string userId, string account, string kid)
    {
        var payload = Forge(userId, account, NewKey, kid).Split('.')[1];
        var header = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes($$"""{"alg":"none","kid":"{{kid}}","typ":"JWT"}"""));
        return header + "." + payload + ".";
    }

    private static SecurityTokenDescriptor Descriptor(string userId, string account, SigningCredentials signing)
    {
        var now = DateTime.UtcNow;
        return new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = userId, [AccessTokens.AccountKeyClaim] = account },
            Issuer = "serverless-tests",
            Audience = "serverless-tests",
            IssuedAt = now,
            NotBefore = now,
            Expires = now + TimeSpan.FromMinutes(15),
            SigningCredentials = signing,
        };
    }
}
