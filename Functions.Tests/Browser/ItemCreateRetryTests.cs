using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Serverless.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Serverless.Functions.Tests.Browser;

/// <summary>
/// The page's side of safe create retries: every new item carries a fresh Idempotency-Key, and a create whose answer is
/// lost after it was stored is retried with the same key, so the item is shown and stored once.
/// </summary>
[Collection(typeof(BrowserTestsRunAlone))]
public sealed partial class ItemCreateRetryTests(AzuriteFixture azurite) : BrowserTest(azurite)
{
    [Fact(Timeout = 120_000)]
    public async Task A_create_whose_answer_is_lost_is_retried_with_the_same_key_and_stored_once()
    {
        var user = await App.NewUserAsync("browser-retry");
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions { Locale = "en-US", TimezoneId = "UTC" });
        context.SetDefaultTimeout(BrowserHost.TimeoutMilliseconds);
        var page = await context.NewPageAsync();
        var pageErrors = new ConcurrentQueue<string>();
        page.PageError += (_, error) => pageErrors.Enqueue(error);

        // The first POST reaches the API and is stored; the page is told 503, as when storage's answer was lost.
        var keys = new ConcurrentQueue<string>();
        var posts = 0;
        await page.RouteAsync(new Regex(@"/api/items$"), async route =>
        {
            if (route.Request.Method != "POST")
            {
                await route.ContinueAsync();
                return;
            }

            keys.Enqueue(await route.Request.HeaderValueAsync("Idempotency-Key") ?? "(none)");
            var fetched = await route.FetchAsync();
            if (Interlocked.Increment(ref posts) == 1)
            {
                Assert.Equal(201, fetched.Status);
                await route.FulfillAsync(new RouteFulfillOptions
                {
                    Response = fetched,
                    Status = 503,
                    ContentType = "application/problem+json",
                    Body = """{"type":"https://serverless.example/errors/unavailable","title":"Unavailable","status":503}""",
                });
                return;
            }

            await route.FulfillAsync(new RouteFulfillOptions { Response = fetched });
        });

        await page.GotoAsync(Site.PageUrl);
        await page.Locator("#login-email").FillAsync(user.Email);
        await page.Locator("#login-password").FillAsync(AccountsTestExtensions.GoodPassword);
        await page.Locator("#login-form [type=submit]").ClickAsync();
        await Expect(page.Locator("#items-empty")).ToBeVisibleAsync();

        await AddAsync(page, "Retried once");
        await AddAsync(page, "Second item");

        var titles = page.Locator("#items > li[data-item-id] .item-title");
        await Expect(titles).ToHaveTextAsync(["Second item", "Retried once"]);
        var sent = keys.ToArray();
        Assert.Equal(3, sent.Length);
        Assert.All(sent, key => Assert.Matches(Uuid(), key));
        Assert.Equal(sent[0], sent[1]);
        Assert.NotEqual(sent[1], sent[2]);

        var stored = await App.GetAsync("/api/items", user.AccessToken);
        Assert.Equal(2, stored.Json.GetProperty("items").GetArrayLength());
        Assert.Empty(pageErrors);
        Assert.Empty(Site.ApiExceptions);
    }

    private static async Task AddAsync(IPage page, string title)
    {
        await page.Locator("#item-title").FillAsync(title);
        await page.Locator("#item-form [type=submit]").ClickAsync();
        await Expect(page.Locator("#items > li[data-item-id] .item-title").First).ToHaveTextAsync(title);
        await Expect(page.Locator("#item-form")).Not.ToHaveAttributeAsync("aria-busy", "true");
    }

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    private static partial Regex Uuid();
}
