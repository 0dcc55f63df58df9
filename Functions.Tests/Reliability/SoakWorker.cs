using System.Collections.Concurrent;
using System.Text.Json;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>An item as the worker that owns it last wrote it.</summary>
public sealed record SoakItem(string Title, string? Description, string ETag);

/// <summary>
/// One client session of one user, sending a random mix of every operation until the deadline and keeping an exact
/// model of the items it created (no other session touches them), so every answer can be checked, and so can storage
/// at the end. It also tries other users' items, which must stay out of reach.
/// </summary>
public sealed class SoakWorker(TestApp app, SoakRecorder recorder, string userId, string email, string name, int maxItems, int seed,
    ConcurrentDictionary<string, string> ownerOfItem)
{
    private const string UnknownETag = "W/\"datetime'2000-01-01T00%3A00%3A00.0000000Z'\"";
    private readonly Random random = new(seed);
    private readonly Dictionary<string, string> staleETags = [];
    private string accessToken = "";
    private string refreshToken = "";
    private int created;

    public Dictionary<string, SoakItem> Items { get; } = [];

    public string UserId => userId;

    public async Task StartAsync()
    {
        // Workers of one user start at once: parallel logins on one account get one check and 429 for the others
        // (docs/api.md), and the instance's hash cap may answer 503; each honours Retry-After as the page does.
        for (var attempt = 0; ; attempt++)
        {
            var login = await recorder.SendAsync("login", () => app.LoginAsync(email), 200, 429, 503);
            if (login.Status == 200 || attempt == 20)
            {
                TakeSession(login);
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(int.Parse(login.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture)) + TimeSpan.FromMilliseconds(random.Next(200)));
        }
    }

    public async Task RunAsync(DateTime deadline)
    {
        while (DateTime.UtcNow < deadline)
        {
            var roll = random.Next(100);
            await (roll switch
            {
                < 25 => Items.Count < maxItems ? CreateAsync() : DeleteAsync(),
                < 40 => GetAsync(),
                < 55 => UpdateAsync(),
                < 59 => StaleUpdateAsync(),
                < 67 => DeleteAsync(),
                < 77 => ListAsync(),
                < 82 => ProbeAsync(),
                < 87 => MeAsync(),
                < 91 => RefreshAsync(),
                < 95 => InvalidAsync(),
                < 97 => LoginAsync(),
                _ => GuessAsync(),
            });
        }
    }

    private async Task CreateAsync()
    {
        var title = $"{name} item {++created}";
        var description = random.Next(3) == 0 ? null : $"written by {name} at {DateTime.UtcNow:O}\nline two";
        var response = await recorder.SendAsync("create", () => app.PostJsonAsync("/api/items", new { title, description }, accessToken), 201);
        if (response.Status == 201)
        {
            var id = response.Json.GetProperty("id").GetString()!;
            Items[id] = new SoakItem(title, description, response.Header("ETag")!);
            ownerOfItem[id] = userId;
        }
    }

    private async Task GetAsync()
    {
        if (Pick() is not { } id)
        {
            return;
        }

        var response = await recorder.SendAsync("get", () => app.GetAsync("/api/items/" + id, accessToken), 200);
        if (response.Status == 200 && (response.Json.GetProperty("title").GetString() != Items[id].Title
            || response.Json.GetProperty("description").GetString() != Items[id].Description || response.Header("ETag") != Items[id].ETag))
        {
            recorder.Wrong("get", $"{id} read {response.Body} {response.Header("ETag")}, last written {Items[id]}");
        }
    }

    private async Task UpdateAsync()
    {
        if (Pick() is not { } id)
        {
            return;
        }

        var item = Items[id];
        var title = item.Title + "'";
        var description = random.Next(2) == 0 ? null : "updated\tby " + name;
        var response = await recorder.SendAsync("update", () => PutAsync(id, title, description, item.ETag), 200);
        if (response.Status == 200)
        {
            staleETags[id] = item.ETag;
            Items[id] = new SoakItem(title, description, response.Header("ETag")!);
        }
    }

    private async Task StaleUpdateAsync()
    {
        if (Pick() is not { } id)
        {
            return;
        }

        await recorder.SendAsync("update with a stale If-Match", () => PutAsync(id, "lost update", null, staleETags.GetValueOrDefault(id, UnknownETag)), 412);
    }

    private async Task DeleteAsync()
    {
        if (Pick() is not { } id)
        {
            return;
        }

        var response = await recorder.SendAsync("delete", () => app.SendAsync("DELETE", "/api/items/" + id, bearer: accessToken,
            headers: RouteRequests.IfMatch(Items[id].ETag)), 204);
        if (response.Status == 204)
        {
            Items.Remove(id);
            staleETags.Remove(id);
            await recorder.SendAsync("get after delete", () => app.GetAsync("/api/items/" + id, accessToken), 404);
        }
    }

    private async Task ListAsync()
    {
        var limit = random.Next(1, 101);
        string? cursor = null;
        for (var page = 0; page < 3; page++)
        {
            var query = $"/api/items?limit={limit}" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            var response = await recorder.SendAsync("list", () => app.GetAsync(query, accessToken), 200);
            if (response.Status != 200)
            {
                return;
            }

            foreach (var item in response.Json.GetProperty("items").EnumerateArray())
            {
                var id = item.GetProperty("id").GetString()!;
                if (ownerOfItem.TryGetValue(id, out var owner) && owner != userId)
                {
                    recorder.Wrong("list", $"{name} was shown item {id} of user {owner}");
                }
            }

            if ((cursor = response.Json.GetProperty("nextCursor").GetString()) is null)
            {
                return;
            }
        }
    }

    // Another user's item, by id: not found, and nothing changes (the final check would see it).
    private async Task ProbeAsync()
    {
        var others = ownerOfItem.Where(pair => pair.Value != userId).Select(pair => pair.Key).Take(200).ToList();
        if (others.Count == 0)
        {
            return;
        }

        var id = others[random.Next(others.Count)];
        await (random.Next(3) switch
        {
            0 => recorder.SendAsync("another user's item: get", () => app.GetAsync("/api/items/" + id, accessToken), 404),
            1 => recorder.SendAsync("another user's item: put", () => app.SendAsync("PUT", "/api/items/" + id, """{"title":"taken over"}""", "application/json", accessToken), 404),
            _ => recorder.SendAsync("another user's item: delete", () => app.SendAsync("DELETE", "/api/items/" + id, bearer: accessToken), 404),
        });
    }

    private async Task MeAsync()
    {
        var response = await recorder.SendAsync("me", () => app.GetAsync("/api/me", accessToken), 200);
        if (response.Status == 200 && response.Json.GetProperty("id").GetString() != userId)
        {
            recorder.Wrong("me", $"{name} was told it is {response.Body}");
        }
    }

    private async Task RefreshAsync()
    {
        var response = await recorder.SendAsync("refresh", () => app.RefreshAsync(refreshToken), 200);
        if (response.Status == 200)
        {
            TakeSession(response);
        }
    }

    private Task<TestResponse> InvalidAsync() => recorder.SendAsync("create with an empty title", () => app.PostJsonAsync("/api/items", new { title = " " }, accessToken), 400);

    private async Task LoginAsync()
    {
        // 429 when another worker of the same user is logging in at that moment, 503 when the instance's hash cap is
        // reached (docs/api.md); the current session goes on.
        var response = await recorder.SendAsync("login", () => app.LoginAsync(email), 200, 429, 503);
        if (response.Status == 200)
        {
            TakeSession(response);
        }
    }

    // A password guess at an email nobody has: counted by the throttle, then refused with 429.
    private Task<TestResponse> GuessAsync() =>
        recorder.SendAsync("login guess", () => app.LoginAsync($"nobody.{name}@example.com", "a guess that will not work"), 401, 429, 503);

    private Task<TestResponse> PutAsync(string id, string title, string? description, string ifMatch) =>
        app.SendAsync("PUT", "/api/items/" + id, JsonSerializer.Serialize(new { title, description }), "application/json", accessToken,
            RouteRequests.IfMatch(ifMatch));

    private string? Pick() => Items.Count == 0 ? null : Items.Keys.ElementAt(random.Next(Items.Count));

    private void TakeSession(TestResponse session)
    {
        if (session.Status == 200)
        {
            accessToken = session.Json.GetProperty("accessToken").GetString()!;
            refreshToken = session.Json.GetProperty("refreshToken").GetString()!;
        }
    }
}
