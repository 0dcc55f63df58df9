using Serverless.Functions.Sessions;

namespace Serverless.Functions.Tests.Sessions;

public sealed class ClientDescriptionTests
{
    private static readonly HashSet<string> KnownWords =
        ["Edge", "Opera", "Firefox", "Samsung", "Internet", "Chrome", "Chromium", "Safari", "on", "iOS", "iPadOS", "Android", "ChromeOS", "Windows", "macOS", "Linux", "A", "browser"];

    [Theory]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Linux")]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows")]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iOS")]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS")]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android")]
    [InlineData("curl/8.5.0", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Known_user_agents_get_a_short_description(string? userAgent, string? expected)
    {
        Assert.Equal(expected, ClientDescription.FromUserAgent(userAgent));
    }

    [Theory]
    [InlineData("<script>alert(1)</script> Firefox/1 Windows")]
    [InlineData("Chrome/1\r\nSet-Cookie: a=b\u0000 Linux")]
    [InlineData("\"><img src=x onerror=alert(1)> Safari/1 iPhone")]
    [InlineData("Firefox/{{constructor.constructor('alert(1)')()}} Linux")]
    [InlineData("\u202eswodniW no xoferiF Firefox/1")]
    public void Hostile_user_agents_give_only_known_words(string userAgent)
    {
        var description = ClientDescription.FromUserAgent(userAgent);

        Assert.NotNull(description);
        Assert.All(description.Split(' '), word => Assert.Contains(word, KnownWords));
    }

    [Fact]
    public void A_huge_user_agent_is_described_from_its_start_only()
    {
        var huge = "Mozilla/5.0 (X11; Linux x86_64) " + new string('x', 100_000) + " Firefox/133.0";

        var description = ClientDescription.FromUserAgent(huge);

        Assert.Equal("A browser on Linux", description);
        Assert.True(description!.Length <= 64);
    }
}
