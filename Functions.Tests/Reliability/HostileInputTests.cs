using Serverless.Functions.Items;
using Serverless.Functions.Limits;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Mail;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Suite 3, hostile input, for every route that reads a body and every route that takes an id, a cursor or If-Match:
/// each gets a 4xx problem details answer (logout's 204 for any token is the contract) and stores nothing.
/// </summary>
public sealed class HostileInputTests(RoutesFixture routes) : IClassFixture<RoutesFixture>
{
    private readonly TestApp app = routes.App;
    private readonly StorageRequestCounter storageRequests = routes.StorageRequests;
    private readonly RouteFixtures owner = routes.Owner;

    public static TheoryData<string> BodyFunctions =>
        [.. FunctionRoute.All.Where(route => (route.Methods.Contains("POST") || route.Methods.Contains("PUT") || route.Methods.Contains("PATCH") || route.Name == "DeleteAccount")
            && !BodilessPosts.Contains(route.Name)).Select(route => route.Name)];

    // POST /api/me/verification-email and the passkey options routes without an account to create take no body and read none.
    private static readonly string[] BodilessPosts = ["SendVerificationEmail", "PasskeyRegistrationOptions", "PasskeySignInOptions"];

    [Theory]
    [MemberData(nameof(BodyFunctions))]
    public async Task Hostile_bodies_get_a_4xx_problem_and_store_nothing(string function)
    {
        var request = RouteRequests.For(FunctionRoute.All.Single(route => route.Name == function), owner);
        var (valid, contentStatus) = ValidBodyOf(function);
        var before = await StorageSnapshot.TakeAsync(app, routes.ConnectionString);
        var failures = new List<string>();
        var sent = 0;

        foreach (var body in HostileBodies.For(valid))
        {
            var expected = body.Kind switch
            {
                HostileKind.Json => [400],
                HostileKind.Size => [413],
                HostileKind.MediaType => [415],
                _ when function == "Signup" && body.Name == "control characters in password" => [201], // docs/api.md: any characters
                _ => contentStatus,
            };
            // The last accepted signup's mail is sent after its answer; its outbox writes are not this body's.
            await app.MailsSentAsync();
            storageRequests.Reset();
            var response = await RawRequests.SendAsync(app, request.Method, request.Path, body.Bytes, body.ContentType,
                request.NeedsToken ? owner.User.AccessToken : null, body.DeclareLength);
            sent++;
            // A login attempt is counted even when refused: the account's throttle row in Users, the address's failures in ClientLimits
            // (the routes that check the password again count a wrong one as a login does).
            var writes = storageRequests.Requests.Where(line => !line.StartsWith("GET", StringComparison.Ordinal)
                && !(function is "Login" or "ChangePassword" or "DeleteAccount" or "MfaTotpEnrol" or "MfaTotpDisable" or "MfaRecoveryCodes" && (line.Contains(AppTables.Users, StringComparison.Ordinal) || line.Contains(AppTables.ClientLimits, StringComparison.Ordinal)))).ToList();
            if (!expected.Contains(response.Status))
            {
                failures.Add($"{body}: expected {string.Join(" or ", expected)}, got {response}");
            }
            else if (response.Status >= 400 && (ProblemStatus(response) != response.Status || response.Body.Contains("Exception", StringComparison.Ordinal)))
            {
                failures.Add($"{body}: not a clean problem details answer: {response}");
            }
            else if (response.Status >= 300 && writes.Count > 0)
            {
                failures.Add($"{body}: answered {response.Status} but wrote {string.Join(", ", writes)}");
            }
        }

        Assert.True(failures.Count == 0, $"{function}, {failures.Count} of {sent} hostile bodies:\n" + string.Join("\n", failures));
        await app.MailsSentAsync();
        var changes = before.ChangesTo(await StorageSnapshot.TakeAsync(app, routes.ConnectionString), LoginThrottleStore.RowKey, ClientLimitStore.FailedLoginRowKey,
            ClientLimitStore.SignupRowKey, ClientLimitStore.PasskeyOptionsRowKey);
        Assert.True(function is "Signup" or "PasswordReset" or "PasskeySignupOptions" ? changes.All(change => change.StartsWith('+')) : changes.Count == 0, string.Join("\n", changes));
    }

    public static TheoryData<string> HostileIds =>
    [
        "x' or PartitionKey ne 'x", "'", "''", "%27", "*", "..", ".", "0000000000000000000ffffffffffffffff'", "0000000000000000000FFFFFFFFFFFFFFFF",
        "0000000000000000000ffffffffffffffff\n", " 0000000000000000000ffffffffffffffff", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669000000000ffffffffffffffff",
        "\ud800", "#", "?", "\\", "/", "(PartitionKey='x',RowKey='y')", "10000-characters",
    ];

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task Malformed_ids_are_404_on_every_route_with_an_id_without_a_storage_request(string hostileId)
    {
        var id = hostileId == "10000-characters" ? new string('1', 10_000) : hostileId;
        var before = await StorageSnapshot.TakeAsync(app, routes.ConnectionString);

        foreach (var route in FunctionRoute.All.Where(route => route.Route.Contains("{id}", StringComparison.Ordinal)))
        {
            var request = RouteRequests.For(route, owner) with
            {
                Path = "/api/" + route.Route.Replace("{id}", Uri.EscapeDataString(id), StringComparison.Ordinal),
                Headers = RouteRequests.IfMatch("*"),
            };
            storageRequests.Reset();
            var response = await request.SendAsync(app, owner.User.AccessToken);

            Assert.True(response.Status == 404 && ProblemStatus(response) == 404, $"{route.Name} with id {hostileId} -> {response}");
            Assert.True(storageRequests.Count == 0, $"{route.Name} with id {hostileId} reached storage: {string.Join(", ", storageRequests.Requests)}");
        }

        Assert.Empty(before.ChangesTo(await StorageSnapshot.TakeAsync(app, routes.ConnectionString)));
    }

    public static TheoryData<string> HostileQueries =>
    [
        "cursor=x' or PartitionKey ne 'x", "cursor='", "cursor=" + Base64Url("PartitionKey ne ''") + ".AAAAAAAAAAAAAAAAAAAAAA",
        "cursor=" + Base64Url("{\"NextPartitionKey\":\"someone-else\",\"NextRowKey\":\"0\"}") + "." + Base64Url("sixteen-byte-tag"),
        "cursor=a.b", "cursor=..", "cursor=%00", "cursor=%E2%80%AE", "cursor=" + new string('A', 3000) + ".AAAAAAAAAAAAAAAAAAAAAA",
        "limit=1 or 1 eq 1", "limit=5)", "limit=0x10", "limit=%2B5", "limit= 5", "limit=5%20", "limit=%D9%A5", "limit=99999999999", "limit=5&limit=6",
    ];

    [Theory]
    [MemberData(nameof(HostileQueries))]
    public async Task Hostile_cursors_and_limits_are_400_without_a_storage_request(string query)
    {
        storageRequests.Reset();
        var response = await app.GetAsync("/api/items?" + query, owner.User.AccessToken);

        Assert.True(response.Status == 400 && ProblemStatus(response) == 400, $"{query} -> {response}");
        Assert.True(storageRequests.Count == 0, $"{query} reached storage: {string.Join(", ", storageRequests.Requests)}");
    }

    [Fact]
    public async Task An_edited_real_cursor_is_400_whatever_part_is_edited()
    {
        var cursor = (await app.GetAsync("/api/items?limit=1", owner.User.AccessToken)).Json.GetProperty("nextCursor").GetString()!;
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        string[] edits =
        [
            cursor + "A", cursor[..^1], "A" + cursor, cursor.Replace(".", "..", StringComparison.Ordinal), cursor[..dot], cursor[(dot + 1)..],
            FlipFirstBit(cursor[..dot]) + cursor[dot..], cursor[..(dot + 1)] + FlipFirstBit(cursor[(dot + 1)..]),
        ];

        foreach (var edited in edits)
        {
            storageRequests.Reset();
            var response = await app.GetAsync("/api/items?limit=1&cursor=" + Uri.EscapeDataString(edited), owner.User.AccessToken);

            Assert.True(response.Status == 400, $"{edited} -> {response}");
            Assert.Equal(0, storageRequests.Count);
        }
    }

    [Fact]
    public async Task OData_query_options_in_the_url_are_ignored_and_the_list_stays_the_callers()
    {
        var stranger = await app.NewUserAsync("stranger");
        await app.PostJsonAsync("/api/items", new { title = "Stranger's" }, stranger.AccessToken);

        var response = await app.GetAsync(
            "/api/items?limit=100&$filter=" + Uri.EscapeDataString("PartitionKey ne ''") + "&$top=1000&$select=PartitionKey,RowKey&NextPartitionKey=x",
            owner.User.AccessToken);

        Assert.Equal(200, response.Status);
        Assert.Equal((await app.GetAsync("/api/items?limit=100", owner.User.AccessToken)).Body, response.Body);
        Assert.Contains(owner.ItemId, response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("Stranger's", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Injection_text_in_fields_is_stored_as_text_and_reaches_nothing_else()
    {
        string[] titles = ["x' or PartitionKey ne 'x", "'; DROP TABLE Items; --", "(PartitionKey='a',RowKey='b')", "$filter=true", "/\\#?%00"];
        var before = await StorageSnapshot.TakeAsync(app, routes.ConnectionString);

        foreach (var title in titles)
        {
            var created = await app.PostJsonAsync("/api/items", new { title, description = title }, owner.User.AccessToken);
            var read = await app.GetAsync(created.Header("Location")!, owner.User.AccessToken);

            Assert.Equal(201, created.Status);
            Assert.Equal(title, read.Json.GetProperty("title").GetString());
            Assert.Equal(title, read.Json.GetProperty("description").GetString());
        }

        // Each create also touches the owner marker in its batch (a new ETag, no data): that change is expected.
        var changes = before.ChangesTo(await StorageSnapshot.TakeAsync(app, routes.ConnectionString), ItemStore.MarkerRowKey);
        Assert.Equal(titles.Length, changes.Count);
        Assert.All(changes, change => Assert.StartsWith($"+ Items {owner.User.Id}/", change, StringComparison.Ordinal));
    }

    public static TheoryData<string> HostileIfMatch =>
    [
        "W/\"datetime'2020-01-01T00%3A00%3A00.0000000Z'\"", "W/\"datetime'x'\"", "W/\"datetime'%'\"", "W/\"datetime'-'\"",
        "*, W/\"datetime'x'\"", "\"x' or 1 eq 1\"", "W/\"datetime'2020'\" or 1 eq 1", "W/\"\"", "\"\"", "W/", "0",
        "W/\"datetime'2020-01-01T00%3A00%3A00.0000000Z'\"\n", "W/\"datetime'2020-01-01T00%3A00%3A00.0000000Z'\"\r\nX-Injected: 1",
        "W/\"datetime'" + new string('1', 64) + "'\"", "W/\"datetime'" + new string('1', 10_000) + "'\"",
    ];

    [Theory]
    [MemberData(nameof(HostileIfMatch))]
    public async Task Hostile_if_match_values_are_412_and_change_nothing(string ifMatch)
    {
        var before = await StorageSnapshot.TakeAsync(app, routes.ConnectionString);

        var put = await app.SendAsync("PUT", "/api/items/" + owner.ItemId, """{"title":"overwritten"}""", "application/json",
            owner.User.AccessToken, RouteRequests.IfMatch(ifMatch));
        var delete = await app.SendAsync("DELETE", "/api/items/" + owner.ItemId, bearer: owner.User.AccessToken, headers: RouteRequests.IfMatch(ifMatch));

        Assert.True(put.Status == 412 && ProblemStatus(put) == 412, $"PUT If-Match {ifMatch} -> {put}");
        Assert.True(delete.Status == 412 && ProblemStatus(delete) == 412, $"DELETE If-Match {ifMatch} -> {delete}");
        Assert.Empty(before.ChangesTo(await StorageSnapshot.TakeAsync(app, routes.ConnectionString)));
    }

    private static string FlipFirstBit(string base64Url)
    {
        var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(base64Url);
        bytes[0] ^= 1;
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }

    private static string Base64Url(string text) => System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(text));

    // A body each route accepts, and how it answers well-formed JSON with a hostile value in a field.
    private (Dictionary<string, string> Valid, int[] ContentStatus) ValidBodyOf(string function) => function switch
    {
        "Signup" => (new() { ["email"] = AccountsTestExtensions.UniqueEmail("hostile"), ["password"] = AccountsTestExtensions.GoodPassword, ["displayName"] = "Ada" }, [400]),
        "Login" => (new() { ["email"] = AccountsTestExtensions.UniqueEmail("hostile"), ["password"] = "a wrong password, of course" }, [401, 429]),
        "Refresh" => (new() { ["refreshToken"] = owner.User.RefreshToken }, [401]),
        "Logout" => (new() { ["refreshToken"] = owner.LogoutRefreshToken }, [204]),
        "CreateItem" or "UpdateItem" => (new() { ["title"] = "A title", ["description"] = "A description" }, [400]),
        "VerifyEmail" => (new() { ["token"] = "not-a-token" }, [400]),
        "PasswordResetConfirm" => (new() { ["token"] = "not-a-token", ["newPassword"] = "a new long passphrase of mine" }, [400]),
        // Still a valid email after some hostile changes: 202 (and a limit row for it), or 429 once the client's quota is spent.
        "PasswordReset" => (new() { ["email"] = AccountsTestExtensions.UniqueEmail("hostile") }, [202, 400, 429]),
        // A wrong current password, so that no hostile variant changes the owner's password (and ends their sessions).
        "ChangePassword" => (new() { ["currentPassword"] = "a wrong current password, of course", ["newPassword"] = "a brand new passphrase for this account" }, [400, 429]),
        // A credential must be a JSON object: every string variant is 400 before any storage request.
        "RegisterPasskey" => (new() { ["credential"] = "an attestation", ["name"] = "Laptop" }, [400]),
        "PasskeySignIn" or "PasskeySignup" => (new() { ["credential"] = "a credential" }, [400]),
        // The owner's own passkey: every hostile name is 400 and the passkey keeps its name.
        "RenamePasskey" => (new() { ["name"] = "Laptop" }, [400]),
        // A wrong password, so that no hostile variant deletes the owner (each wrong one counts as a failed login).
        "DeleteAccount" => (new() { ["password"] = "a wrong password, of course" }, [400, 429]),
        // Still a valid email after some hostile changes: 200 (a challenge and its count are stored), or 409, or 429 once the
        // client's ceremonies are spent.
        "PasskeySignupOptions" => (new() { ["email"] = AccountsTestExtensions.UniqueEmail("hostile"), ["displayName"] = "Ada" }, [200, 400, 409, 429]),
        // Two-step sign-in: a wrong password (each counts as a failed login), a code of no live set-up, a token never issued.
        "MfaTotpEnrol" => (new() { ["password"] = "a wrong password, of course" }, [400, 429]),
        "MfaTotpDisable" or "MfaRecoveryCodes" => (new() { ["password"] = "a wrong password, of course", ["code"] = "123456" }, [400, 429]),
        "MfaTotpConfirm" => (new() { ["code"] = "123456" }, [400]),
        "LoginMfa" => (new() { ["mfaToken"] = "not-a-token", ["code"] = "123456" }, [400, 401]),
        _ => throw new InvalidOperationException($"No valid body for {function}: add one so hostile bodies reach it."),
    };

    private static int? ProblemStatus(TestResponse response) =>
        response.ContentType?.StartsWith("application/problem+json", StringComparison.Ordinal) == true
            && response.Json.TryGetProperty("status", out var status) ? status.GetInt32() : null;
}
