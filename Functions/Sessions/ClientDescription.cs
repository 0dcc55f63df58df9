namespace Serverless.Functions.Sessions;

/// <summary>
/// A short description of the client a session was started from ("Firefox on Windows"), made only of the fixed words
/// below: the User-Agent header is a hint chosen by the caller, so nothing of it is ever stored or shown as sent.
/// </summary>
public static class ClientDescription
{
    // Only the start of a header is looked at: real User-Agents are a few hundred characters.
    private const int MaxInspectedLength = 512;

    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari; iOS also says Mac OS X, Android and ChromeOS also say Linux.
    private static readonly (string Token, string Name)[] Browsers =
    [
        ("Edg/", "Edge"), ("EdgiOS/", "Edge"), ("EdgA/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"),
        ("SamsungBrowser/", "Samsung Internet"), ("CriOS/", "Chrome"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"),
    ];

    private static readonly (string Token, string Name)[] Systems =
    [
        ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"), ("CrOS", "ChromeOS"), ("Windows", "Windows"),
        ("Macintosh", "macOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"),
    ];

    public static string? FromUserAgent(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent))
        {
            return null;
        }

        var text = userAgent.Length > MaxInspectedLength ? userAgent[..MaxInspectedLength] : userAgent;
        var browser = First(Browsers, text);
        var system = First(Systems, text);
        return (browser, system) switch
        {
            (not null, not null) => $"{browser} on {system}",
            (not null, null) => browser,
            (null, not null) => $"A browser on {system}",
            _ => null,
        };
    }

    private static string? First((string Token, string Name)[] candidates, string text) =>
        candidates.FirstOrDefault(candidate => text.Contains(candidate.Token, StringComparison.Ordinal)).Name;
}
