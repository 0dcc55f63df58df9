using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CsCheck;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Functions.Http;
using Serverless.Functions.Storage;
using Serverless.Functions.Tests.Support;
using Serverless.Functions.Validation;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Suite 3, property-based (CsCheck): generated bodies for the body validators, each judged against an oracle written
/// here from docs/api.md, not from the code. Iterations are modest so that <c>dotnet test</c> stays quick; CsCheck prints
/// a seed for any failure, which replays it.
/// </summary>
public sealed class HostileInputPropertyTests(RoutesFixture routes) : IClassFixture<RoutesFixture>
{
    private const int ItemIterations = 250;
    private const int SignupIterations = 40;
    private const int MutationIterations = 300;

    private readonly TestApp app = routes.App;
    private readonly StorageRequestCounter storageRequests = routes.StorageRequests;
    private readonly RouteFixtures owner = routes.Owner;

    public static readonly Gen<(FieldValue Title, FieldValue Description, int Extras, int Seed)> ItemBodies =
        Gen.Select(HostileGen.Field, HostileGen.Field, Gen.Int[0, 3], Gen.Int);

    [Fact]
    public async Task Item_bodies_are_stored_exactly_when_api_md_allows_them_and_read_back_unchanged()
    {
        await ItemBodies.SampleAsync(async (title, description, extras, seed) =>
        {
            var body = HostileGen.JsonObject([("title", title), ("description", description)], extras, seed);
            storageRequests.Reset();
            var created = await app.SendAsync("POST", "/api/items", body, "application/json", owner.User.AccessToken);
            var shown = $"{HostileGen.Visible(body)} -> {created.Status} {HostileGen.Visible(created.Body)}";
            if (Encoding.UTF8.GetByteCount(body) > JsonBody.MaxBytes)
            {
                Assert.True(created.Status == 413, shown);
                return;
            }

            var invalid = new[] { ("title", TitleAllowed(title)), ("description", DescriptionAllowed(description)) }
                .Where(check => !check.Item2).Select(check => check.Item1).ToList();

            if (invalid.Count > 0)
            {
                Assert.True(created.Status == 400, shown);
                var named = created.Json.GetProperty("errors").EnumerateObject().Select(error => error.Name).ToList();
                Assert.NotEmpty(named);
                Assert.All(named, name => Assert.Contains(name, invalid));
                Assert.Equal(0, storageRequests.Count);
                return;
            }

            Assert.True(created.Status == 201, shown);
            var read = await app.GetAsync(created.Header("Location")!, owner.User.AccessToken);
            var storedTitle = read.Json.GetProperty("title").GetString()!;
            var storedDescription = read.Json.GetProperty("description").GetString();
            Assert.Equal(title.Text!.Trim().Normalize(NormalizationForm.FormC), storedTitle);
            Assert.Equal(string.IsNullOrEmpty(description.Text) ? null : description.Text.Normalize(NormalizationForm.FormC), storedDescription);
            var storedLength = Text.CodePoints(storedDescription ?? "");
            Assert.True(storedLength <= 2000, $"stored a description of {storedLength} characters");

            // What the API hands out, it takes back: the same title and description, sent again, change nothing.
            var again = await app.SendAsync("PUT", created.Header("Location")!, JsonSerializer.Serialize(new { title = storedTitle, description = storedDescription }),
                "application/json", owner.User.AccessToken, RouteRequests.IfMatch(read.Header("ETag")!));
            Assert.True(again.Status == 200, $"PUT back of {HostileGen.Visible(read.Body)} -> {again.Status} {again.Body}");
            Assert.Equal(storedTitle, again.Json.GetProperty("title").GetString());
            Assert.Equal(storedDescription, again.Json.GetProperty("description").GetString());
        }, iter: ItemIterations, threads: 1, print: Print);
    }

    [Theory]
    [InlineData("\ufb2c", 1000, 400)] // 1,000 characters as sent, 3,000 once NFC: too long as stored
    [InlineData("\u0958", 1001, 400)] // 2,002 once NFC
    [InlineData("e\u0301", 2000, 201)] // 4,000 code points as sent, 2,000 characters once NFC
    public async Task Description_length_is_counted_as_stored_after_nfc(string piece, int repeat, int expected)
    {
        var description = string.Concat(Enumerable.Repeat(piece, repeat));

        var response = await app.PostJsonAsync("/api/items", new { title = "NFC", description }, owner.User.AccessToken);

        Assert.Equal(expected, response.Status);
        if (expected == 201)
        {
            Assert.Equal(description.Normalize(NormalizationForm.FormC), response.Json.GetProperty("description").GetString());
        }
    }

    public static readonly Gen<(string Local, string Domain, FieldValue Password, FieldValue DisplayName)> SignupBodies = Gen.Select(
        Gen.Select(Gen.Guid, HostileGen.Piece.Array[0, 5], (id, pieces) => "p" + id.ToString("N")[..12] + string.Concat(pieces)),
        Gen.OneOfConst("example.com", "EXAMPLE.com", "ex\u00e4mple.com", "\u4f8b\u5b50.\u6d4b\u8bd5", "example", "ex/ample.com", "example.com.",
            "[127.0.0.1]", "xn--exmple-cua.com", "example.com ", "ex ample.com", "@example.com"),
        Gen.Frequency(
            (4, Gen.Int[0, 999].Select(n => new FieldValue(FieldShape.Text, HostileGen.Quote($"{AccountsTestExtensions.GoodPassword} {n}"), $"{AccountsTestExtensions.GoodPassword} {n}"))),
            (2, HostileGen.Field)),
        Gen.Frequency((3, Gen.Const(new FieldValue(FieldShape.Absent, ""))), (2, HostileGen.Field)));

    [Fact]
    public async Task Signups_with_hostile_emails_passwords_and_names_are_refused_cleanly_or_stored_under_a_hashed_key()
    {
        await SignupBodies.SampleAsync(async (local, domain, password, displayName) =>
        {
            var email = local + "@" + domain;
            var body = HostileGen.JsonObject(
                [("email", new FieldValue(FieldShape.Text, HostileGen.Quote(email), email)), ("password", password), ("displayName", displayName)], 0, 0);
            storageRequests.Reset();
            var response = await app.SendAsync("POST", "/api/auth/signup", body, "application/json");

            var shown = $"{HostileGen.Visible(body)} -> {response.Status} {HostileGen.Visible(response.Body)}";
            if (Encoding.UTF8.GetByteCount(body) > JsonBody.MaxBytes)
            {
                Assert.True(response.Status == 413, shown);
                return;
            }

            Assert.True(response.Status is 201 or 400, shown);
            var mustRefuse = MustRefuseEmail(email) || password.Shape != FieldShape.Text || Nfc(password.Text!) is null
                || Text.CodePoints(password.Text!) is < 15 or > 128 || !DisplayNameAllowed(displayName);
            if (response.Status == 400)
            {
                Assert.All(response.Json.GetProperty("errors").EnumerateObject(), error => Assert.Contains(error.Name, new[] { "email", "password", "displayName" }));
                Assert.Equal(0, storageRequests.Count);
                Assert.False(MustAcceptEmail(email) && password.Text?.StartsWith(AccountsTestExtensions.GoodPassword, StringComparison.Ordinal) == true
                    && displayName.Shape is FieldShape.Absent, $"refused a plain signup: {shown}");
                return;
            }

            Assert.False(mustRefuse, $"accepted {shown}");
            Assert.Equal(email.Trim().Normalize(NormalizationForm.FormC), response.Json.GetProperty("user").GetProperty("email").GetString());
            var key = app.AccountKey(email);
            Assert.Matches("^[A-Za-z0-9_-]{43}$", key);
            var row = await app.Table(AppTables.Users).GetEntityIfExistsAsync<TableEntity>(key, key, cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(row.HasValue, $"no Users row under the key of {email}");
            Assert.Equal(200, (await app.LoginAsync(email.ToLowerInvariant(), password.Text!)).Status);
        }, iter: SignupIterations, threads: 1, print: Print);
    }

    public static readonly Gen<(string Function, int Mutation, int Position, byte[] Noise, string ContentType)> Mutations = Gen.Select(
        Gen.OneOfConst("Signup", "Login", "Refresh", "Logout", "CreateItem", "UpdateItem"),
        Gen.Int[0, 5],
        Gen.Int[0, 1000],
        Gen.Byte.Array[1, 8],
        Gen.FrequencyConst((8, "application/json"), (1, "application/json; charset=utf-8"), (1, "application/merge-patch+json"), (1, "text/plain")));

    [Fact]
    public async Task Mutated_bodies_on_every_body_route_never_get_a_5xx_nor_write_unless_accepted()
    {
        await Mutations.SampleAsync(async (function, mutation, position, noise, contentType) =>
        {
            var request = RouteRequests.For(FunctionRoute.All.Single(route => route.Name == function), owner);
            var valid = function switch
            {
                "Signup" => JsonSerializer.Serialize(new { email = AccountsTestExtensions.UniqueEmail("mutant"), password = AccountsTestExtensions.GoodPassword }),
                "Logout" => JsonSerializer.Serialize(new { refreshToken = "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
                _ => request.Body!,
            };
            var body = Mutate(Encoding.UTF8.GetBytes(valid), mutation, position, noise);
            // A signup accepted in an earlier sample sends its mail after the answer, and a failed send writes its Outbox
            // marker: done before this sample's requests are counted.
            await app.Services.GetRequiredService<Functions.Mail.MailDelivery>().WhenIdleAsync();
            storageRequests.Reset();
            var response = await app.SendBytesAsync(request.Method, request.Path, body, contentType, request.NeedsToken ? owner.User.AccessToken : null);

            var shown = $"{function} {contentType} {HostileGen.Visible(Encoding.UTF8.GetString(body))} -> {response.Status} {HostileGen.Visible(response.Body)}";
            Assert.True(response.Status < 500, shown);
            // A refused login is still counted: the account's throttle row in Users, the address's failures in ClientLimits.
            var writes = storageRequests.Requests.Count(line => !line.StartsWith("GET", StringComparison.Ordinal)
                && !(function == "Login" && (line.Contains(AppTables.Users, StringComparison.Ordinal) || line.Contains(AppTables.ClientLimits, StringComparison.Ordinal))));
            if (response.Status >= 400)
            {
                Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
                Assert.Equal(response.Status, response.Json.GetProperty("status").GetInt32());
                Assert.True(writes == 0 || (function == "Refresh" && response.Status == 401), $"{shown} wrote {string.Join(", ", storageRequests.Requests)}");
            }
        }, iter: MutationIterations, threads: 1);
    }

    private static string Print((FieldValue Title, FieldValue Description, int Extras, int Seed) sample) =>
        $"title {sample.Title}, description {sample.Description}";

    private static string Print((string Local, string Domain, FieldValue Password, FieldValue DisplayName) sample) =>
        $"email \"{HostileGen.Visible(sample.Local + "@" + sample.Domain)}\", password {sample.Password}, displayName {sample.DisplayName}";

    // docs/api.md: title 1–200 characters after trimming; the checks every text field gets (README): well-formed, no control characters.
    private static bool TitleAllowed(FieldValue title) =>
        title.Shape == FieldShape.Text && Text.IsWellFormed(title.Text!) && !title.Text!.Any(char.IsControl)
        && Nfc(title.Text!.Trim()) is { } normalized && Text.CodePoints(normalized) is >= 1 and <= 200;

    // docs/api.md: description at most 2,000 characters (as stored, so as NFC), or null; line breaks and tabs allowed.
    private static bool DescriptionAllowed(FieldValue description) => description.Shape switch
    {
        FieldShape.Absent or FieldShape.Null => true,
        FieldShape.Text => Text.IsWellFormed(description.Text!)
            && !description.Text!.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t'))
            && Nfc(description.Text!) is { } normalized && Text.CodePoints(normalized) <= 2000,
        _ => false,
    };

    private static bool DisplayNameAllowed(FieldValue name) => name.Shape switch
    {
        FieldShape.Absent or FieldShape.Null => true,
        FieldShape.Text => Text.IsWellFormed(name.Text!) && !name.Text!.Trim().Any(char.IsControl)
            && Nfc(name.Text!.Trim()) is { } normalized && Text.CodePoints(normalized) is >= 1 and <= 64,
        _ => false,
    };

    // What no email address can hold, whatever else the validator thinks: spaces inside, control characters, lone
    // surrogates, no "@", more than 254 characters.
    private static bool MustRefuseEmail(string email)
    {
        var trimmed = email.Trim();
        return !Text.IsWellFormed(email) || trimmed.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || !trimmed.Contains('@', StringComparison.Ordinal)
            || Nfc(trimmed) is not { Length: <= 254 };
    }

    // NFC, or null for text that has none: the platform's normalizer refuses U+FFFE, and no stored text may hold it.
    private static string? Nfc(string text)
    {
        try
        {
            return text.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    // Plain ASCII letters and digits at a plain domain must be accepted.
    private static bool MustAcceptEmail(string email) =>
        email.EndsWith("@example.com", StringComparison.Ordinal) && email[..^"@example.com".Length].All(char.IsAsciiLetterOrDigit);

    private static byte[] Mutate(byte[] valid, int mutation, int position, byte[] noise)
    {
        var at = position % (valid.Length + 1);
        return mutation switch
        {
            0 => valid[..at],                                                   // truncated
            1 => [.. valid[..at], .. noise, .. valid[at..]],                    // bytes inserted
            2 => [.. valid[..at], .. noise, .. valid[Math.Min(valid.Length, at + noise.Length)..]], // bytes overwritten
            3 => [.. valid[..at], .. valid[Math.Min(valid.Length, at + noise.Length)..]],           // bytes removed
            4 => [.. valid[..at], .. valid[at..], .. valid[at..]],             // a tail repeated
            _ => [.. "["u8, .. valid, .. "]"u8],                               // wrapped in an array
        };
    }
}
