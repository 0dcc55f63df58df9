using System.Collections.Concurrent;
using System.Diagnostics;
using Serverless.Functions.Tests.Support;

namespace Serverless.Functions.Tests.Reliability;

/// <summary>
/// Suite 5, soak: several users, each with several sessions, send mixed traffic at once for SOAK_SECONDS (30 by
/// default; docs/reliability.md gives the command for the full run). Every answer must be the expected one, and at the
/// end storage must hold exactly what the sessions wrote: each item listed once, none lost, none extra, none changed,
/// and every user can still log in.
/// </summary>
[Collection(nameof(SerialReliability))]
[Trait("Category", "Long")]
public sealed class SoakTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Mixed_traffic_from_several_users_answers_as_expected_and_loses_no_write()
    {
        var settings = SoakSettings.FromEnvironment();
        await using var app = TestApp.Create(azurite.ConnectionString);
        var recorder = new SoakRecorder();
        var ownerOfItem = new ConcurrentDictionary<string, string>();
        var users = await Task.WhenAll(Enumerable.Range(0, settings.Users).Select(i => app.NewUserAsync($"soak{i}")));
        var workers = users.SelectMany((user, u) => Enumerable.Range(0, settings.WorkersPerUser).Select(w =>
            new SoakWorker(app, recorder, user.Id, user.Email, $"u{u}w{w}", settings.MaxItemsPerWorker, seed: u * 100 + w, ownerOfItem))).ToList();
        await Task.WhenAll(workers.Select(worker => worker.StartAsync()));

        var clock = Stopwatch.StartNew();
        var deadline = DateTime.UtcNow.AddSeconds(settings.Seconds);
        await Task.WhenAll(workers.Select(worker => Task.Run(() => worker.RunAsync(deadline))));
        var elapsed = clock.Elapsed;

        var (lost, extra, repeated, changed) = (0, 0, 0, 0);
        var loginsAfter = 0;
        foreach (var user in users)
        {
            var expected = workers.Where(worker => worker.UserId == user.Id).SelectMany(worker => worker.Items).ToDictionary();
            var listed = await ListAllAsync(app, user);
            repeated += listed.Count - listed.Select(item => item.Id).Distinct().Count();
            lost += expected.Keys.Count(id => listed.All(item => item.Id != id));
            extra += listed.Count(item => !expected.ContainsKey(item.Id));
            changed += listed.Count(item => expected.TryGetValue(item.Id, out var written) && (written.Title, written.Description) != (item.Title, item.Description));
            loginsAfter += (await app.LoginAsync(user.Email)).Status == 200 ? 1 : 0;
        }

        var report = recorder.Report(settings, elapsed,
            $"after: {lost} lost, {extra} extra, {repeated} listed twice, {changed} changed; {loginsAfter} of {users.Length} users log in");
        TestContext.Current.TestOutputHelper?.WriteLine(report);
        if (settings.ReportPath is { } path)
        {
            await File.WriteAllTextAsync(path, report, TestContext.Current.CancellationToken);
        }

        Assert.True(recorder.Unexpected == 0, $"{recorder.Unexpected} unexpected answers:\n{string.Join("\n", recorder.Surprises)}\n{report}");
        Assert.True(lost + extra + repeated + changed == 0, report);
        Assert.Equal(users.Length, loginsAfter);
        Assert.True(recorder.Requests > settings.Seconds * 10, $"the soak hardly ran: {report}");
    }

    private static async Task<List<(string Id, string Title, string? Description)>> ListAllAsync(TestApp app, SignedInUser user)
    {
        var items = new List<(string, string, string?)>();
        string? cursor = null;
        do
        {
            var page = await app.GetAsync("/api/items?limit=100" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), user.AccessToken);
            Assert.Equal(200, page.Status);
            items.AddRange(page.Json.GetProperty("items").EnumerateArray().Select(item =>
                (item.GetProperty("id").GetString()!, item.GetProperty("title").GetString()!, item.GetProperty("description").GetString())));
            cursor = page.Json.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        return items;
    }
}
