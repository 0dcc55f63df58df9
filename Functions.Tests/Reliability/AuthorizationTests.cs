using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Serverless.Functions.Http;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;
using Serverless.Functions.Tokens;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Suite 4, authorization, walked over every route the host serves: bad tokens never reach a function (nor storage),
/// another user's ids are not found and stay as they were, and a deleted account's token reaches nothing of a new
/// account with the same email.
/// </summary>
public sealed class AuthorizationTests(RoutesFixture routes) : IClassFixture<RoutesFixture>
{
    // Every forged token names the app's real key: a kid is public, copied from any token.
    private static readonly string TestKeyId = SigningKeys.IdOf(Encoding.UTF8.GetBytes(TestApp.TestSigningKey));
    private readonly TestApp app = routes.App;
    private readonly StorageRequestCounter storageRequests = routes.StorageRequests;
    private readonly RouteFixtures owner = routes.Owner;

    private static readonly string[] BadTokenKinds =
        ["missing", "forged with another key", "expired", "alg none", "wrong audience", "wrong issuer", "no sub", "hs512", "truncated", "garbage"];

    private static IEnumerable<string> ProtectedFunctionNames =>
        FunctionRoute.All.Where(route => !FunctionAccess.AllowsAnonymous(route.Method)).Select(route => route.Name);

    public static TheoryData<string> ProtectedFunctions => [.. ProtectedFunctionNames];

    [Fact]
    public void The_protected_functions_are_the_account_and_item_routes()
    {
        Assert.Equal(["ChangePassword", "CreateItem", "DeleteAccount", "DeleteItem", "DeletePasskey", "EndAllSessions", "EndSession", "GetItem", "ListItems",
            "ListPasskeys", "ListSessions", "Me", "MfaRecoveryCodes", "MfaTotpConfirm", "MfaTotpDisable", "MfaTotpEnrol", "PasskeyRegistrationOptions", "RegisterPasskey", "RenamePasskey", "SendVerificationEmail", "UpdateItem"],
            ProtectedFunctionNames.Order());
    }

    [Theory]
    [MemberData(nameof(ProtectedFunctions))]
    public async Task Every_bad_token_gets_401_on_every_protected_route_before_any_storage_request(string function)
    {
        var request = RouteRequests.For(FunctionRoute.All.Single(route => route.Name == function), owner);
        var before = await StorageSnapshot.TakeAsync(app, routes.ConnectionString);

        foreach (var kind in BadTokenKinds)
        {
            storageRequests.Reset();
            var response = await SendWithTokenAsync(request, kind);

            Assert.True(response.Status == 401, $"{request} with a {kind} token -> {response}");
            Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
            Assert.Equal(kind == "missing" ? "Bearer" : "Bearer error=\"invalid_token\"", response.Header("WWW-Authenticate"));
            Assert.True(storageRequests.Count == 0, $"{request} with a {kind} token reached storage: {string.Join(", ", storageRequests.Requests)}");
        }

        Assert.Empty(before.ChangesTo(await StorageSnapshot.TakeAsync(app, routes.ConnectionString)));
    }

    [Fact]
    public async Task Another_user_gets_404_on_every_item_route_for_the_owners_ids_and_changes_nothing()
    {
        var intruder = await app.NewUserAsync("intruder");
        var ownerPage = await app.GetAsync("/api/items?limit=1", owner.User.AccessToken);
        var ownerCursor = ownerPage.Json.GetProperty("nextCursor").GetString()!;
        var before = await StorageSnapshot.TakeAsync(app, routes.ConnectionString);
        var itemRoutes = FunctionRoute.All.Where(route => route.Route.StartsWith("items/", StringComparison.Ordinal)).ToList();

        var attempts = new List<(string Attempt, TestResponse Response)>();
        foreach (var route in itemRoutes)
        {
            foreach (var id in new[] { owner.ItemId, owner.DisposableItemId })
            {
                foreach (var ifMatch in new[] { null, "*", owner.ItemETag })
                {
                    var request = RouteRequests.For(route, owner) with
                    {
                        Path = "/api/items/" + id,
                        Headers = ifMatch is null ? null : RouteRequests.IfMatch(ifMatch),
                    };
                    attempts.Add(($"{request} If-Match {ifMatch ?? "(none)"}", await request.SendAsync(app, intruder.AccessToken)));
                }
            }
        }

        var list = await app.GetAsync("/api/items?limit=100", intruder.AccessToken);
        var borrowedCursor = await app.GetAsync("/api/items?limit=1&cursor=" + Uri.EscapeDataString(ownerCursor), intruder.AccessToken);

        Assert.Equal(["DeleteItem", "GetItem", "UpdateItem"], itemRoutes.Select(route => route.Name).Order());
        Assert.All(attempts, attempt => Assert.True(attempt.Response.Status == 404, $"{attempt.Attempt} by another user -> {attempt.Response}"));
        Assert.Equal(0, list.Json.GetProperty("items").GetArrayLength());
        Assert.Equal(400, borrowedCursor.Status);
        Assert.Empty(before.ChangesTo(await StorageSnapshot.TakeAsync(app, routes.ConnectionString)));
        Assert.Equal(200, (await app.GetAsync("/api/items/" + owner.ItemId, owner.User.AccessToken)).Status);
        Assert.Equal(200, (await app.GetAsync("/api/items/" + owner.DisposableItemId, owner.User.AccessToken)).Status);
    }

    [Fact]
    public async Task A_deleted_accounts_tokens_reach_nothing_of_a_new_account_with_the_same_email()
    {
        var old = await app.NewUserAsync("deleted");
        var oldItem = await app.PostJsonAsync("/api/items", new { title = "Old account's" }, old.AccessToken);
        var key = app.AccountKey(old.Email);
        await app.Table(AppTables.Users).DeleteEntityAsync(key, key, cancellationToken: TestContext.Current.CancellationToken);

        var meAfterDeletion = await app.GetAsync("/api/me", old.AccessToken);
        var signup = await app.SignupAsync(old.Email, "a different and long passphrase");
        var fresh = SignedInUser.From(old.Email, signup.Json);
        var freshItem = await app.PostJsonAsync("/api/items", new { title = "New account's" }, fresh.AccessToken);
        var freshPath = freshItem.Header("Location")!;
        var refreshed = await app.RefreshAsync(old.RefreshToken);
        var oldTokens = new[] { old.AccessToken, refreshed.Json.GetProperty("accessToken").GetString()! };

        Assert.Equal(401, meAfterDeletion.Status);
        Assert.Equal(201, signup.Status);
        Assert.NotEqual(old.Id, fresh.Id);
        Assert.Equal(old.Id, refreshed.Json.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal(401, (await app.LoginAsync(old.Email)).Status);
        foreach (var token in oldTokens)
        {
            Assert.Equal(401, (await app.GetAsync("/api/me", token)).Status);
            Assert.Equal(404, (await app.GetAsync(freshPath, token)).Status);
            Assert.Equal(404, (await app.SendAsync("PUT", freshPath, """{"title":"taken over"}""", "application/json", token)).Status);
            Assert.Equal(404, (await app.SendAsync("DELETE", freshPath, bearer: token)).Status);
            var listed = (await app.GetAsync("/api/items", token)).Json.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetString());
            Assert.Equal([oldItem.Json.GetProperty("id").GetString()], listed);
        }

        var freshRead = await app.GetAsync(freshPath, fresh.AccessToken);
        Assert.Equal(freshItem.Body, freshRead.Body);
        Assert.Equal(200, (await app.GetAsync("/api/me", fresh.AccessToken)).Status);
    }

    private Task<TestResponse> SendWithTokenAsync(RouteRequest request, string kind)
    {
        var headers = request.Headers?.ToDictionary() ?? [];
        if (kind != "missing")
        {
            headers["Authorization"] = "Bearer " + BadToken(kind);
        }

        return app.SendAsync(request.Method, request.Path, request.Body, request.Body is null ? null : "application/json", headers: headers);
    }

    private string BadToken(string kind) => kind switch
    {
        "forged with another key" => Token(key: "an-attackers-key-that-is-long-enough-0123456789"),
        "expired" => Token(expires: DateTime.UtcNow - AccessTokens.ClockSkew - TimeSpan.FromSeconds(5)),
        "alg none" => Token(key: null),
        "wrong audience" => Token(audience: "someone-else"),
        "wrong issuer" => Token(issuer: "someone-else"),
        "no sub" => Token(subject: null),
        "hs512" => Token(algorithm: SecurityAlgorithms.HmacSha512),
        "truncated" => owner.User.AccessToken[..^12],
        "garbage" => "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    // Tokens for the owner, each wrong in one way; everything else is as the app issues them.
    private string Token(string? key = TestApp.TestSigningKey, string audience = "serverless-tests", string issuer = "serverless-tests",
        DateTime? expires = null, string algorithm = SecurityAlgorithms.HmacSha256, string? subject = "owner")
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { [AccessTokens.AccountKeyClaim] = app.AccountKey(owner.User.Email) };
        if (subject is not null)
        {
            claims["sub"] = owner.User.Id;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Claims = claims,
            Issuer = issuer,
            Audience = audience,
            IssuedAt = (expires ?? now) - TimeSpan.FromMinutes(15),
            NotBefore = (expires ?? now) - TimeSpan.FromMinutes(15),
            Expires = expires ?? now + TimeSpan.FromMinutes(15),
        };
        if (key is not null)
        {
            descriptor.SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)) { KeyId = TestKeyId }, algorithm);
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}
