using Microsoft.Playwright;

namespace Serverless.Functions.Tests.Browser;

/// <summary>
/// Everything a page's browser reports as an error: console errors, uncaught exceptions and requests that failed at the
/// network level (a CORS refusal, a refused connection). A browser test ends with <see cref="AssertNone"/>.
/// </summary>
/// <remarks>
/// The page itself never writes to the console, but Chromium does: for every answer with a 4xx or 5xx status it logs
/// "Failed to load resource: the server responded with a status of 401 (Unauthorized)", located at the resource's URL,
/// even when the page expected that answer and handled it (a wrong password is a 401 that the page turns into a message).
/// Scripts cannot suppress that line. So a scenario that provokes such an answer declares it first with
/// <see cref="ExpectRejection"/>: that forgives exactly one line of exactly that form, for that status and that URL.
/// Any other console error, any second such line, and any declared rejection that never happened fail the test.
/// </remarks>
public sealed class BrowserErrors
{
    private const string FailedToLoad = "Failed to load resource: the server responded with a status of ";

    private readonly Lock gate = new();
    private readonly List<string> unexpected = [];
    private readonly List<ExpectedRejection> expected = [];

    public BrowserErrors(IPage page)
    {
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                OnConsoleError(message.Text, message.Location);
            }
        };
        page.PageError += (_, error) => Add("uncaught exception: " + error);
        page.RequestFailed += (_, request) => Add($"request failed: {request.Method} {request.Url}: {request.Failure}");
    }

    /// <summary>The next answer from <paramref name="url"/> is expected to have <paramref name="status"/> (4xx).</summary>
    public void ExpectRejection(int status, string url)
    {
        if (status is < 400 or > 499)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "Only client errors are expected answers; a 5xx is always a failure.");
        }

        lock (gate)
        {
            expected.Add(new ExpectedRejection(status, url));
        }
    }

    public void AssertNone()
    {
        lock (gate)
        {
            var missing = expected.Where(rejection => !rejection.Seen).Select(rejection => $"expected a {rejection.Status} from {rejection.Url}, none was logged");
            var problems = unexpected.Concat(missing).ToList();
            Assert.True(problems.Count == 0, "The browser reported:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }
    }

    /// <summary>What the browser has reported so far that was not expected, for a failure message.</summary>
    public override string ToString()
    {
        lock (gate)
        {
            return unexpected.Count == 0
                ? "The browser reported no errors."
                : "The browser reported:" + Environment.NewLine + string.Join(Environment.NewLine, unexpected);
        }
    }

    private void OnConsoleError(string text, string location)
    {
        lock (gate)
        {
            var match = expected.FirstOrDefault(rejection => !rejection.Seen
                && text.StartsWith($"{FailedToLoad}{rejection.Status} (", StringComparison.Ordinal)
                && (location == rejection.Url || location.StartsWith(rejection.Url + ":", StringComparison.Ordinal)));
            if (match is not null)
            {
                match.Seen = true;
                return;
            }

            unexpected.Add($"console error: {text} (at {location})");
        }
    }

    private void Add(string problem)
    {
        lock (gate)
        {
            unexpected.Add(problem);
        }
    }

    private sealed class ExpectedRejection(int status, string url)
    {
        public int Status { get; } = status;

        public string Url { get; } = url;

        public bool Seen { get; set; }
    }
}
