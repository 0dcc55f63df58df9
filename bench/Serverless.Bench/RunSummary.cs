using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;

namespace Serverless.Bench;

/// <summary>One run's figures (medians, allocations, and the ratios issue 8 sets goals for), and the median over several runs.</summary>
public sealed class RunSummary(Dictionary<string, double> figures)
{
    /// <summary>Each figure: its name, unit, goal (null: reported only) and how it is derived from the benchmarks.</summary>
    private static readonly (string Name, string Unit, string? Goal)[] Layout =
    [
        ("list page (20) via function", "ms", null),
        ("list page (20) direct TableClient.QueryAsync", "ms", null),
        ("list: function ÷ direct query", "ratio", "≤ 1.10"),
        ("list page (10), 100,000-item partition", "ms", null),
        ("list page (10), 10-item partition", "ms", null),
        ("list: 100,000 items ÷ 10 items", "ratio", "≤ 1.2"),
        ("login via function", "ms", null),
        ("Argon2id verification (19 MiB, t=2, p=1)", "ms", null),
        ("login: function ÷ Argon2id verification", "ratio", "≤ 1.15"),
        ("allocated per list request (function)", "KiB", "report"),
        ("allocated per direct query", "KiB", "report"),
        ("allocated per login request (function)", "KiB", "report"),
        ("allocated per Argon2id verification (managed)", "KiB", "report"),
        ("Argon2id hash (19 MiB, t=2, p=1), one thread", "ms", null),
        ("Argon2id hashes per second per core", "1/s", "report"),
        ("Argon2id hash (190 MiB, t=2, p=1), one thread", "ms", null),
        ("Argon2id: 190 MiB ÷ 19 MiB time", "ratio", "≈ 10 if MemorySize is KiB"),
        ("worker composition, warm (build + resolve all)", "ms", "report"),
    ];

    public IReadOnlyDictionary<string, double> Figures => figures;

    public static RunSummary From(IEnumerable<Summary> summaries)
    {
        var reports = summaries.SelectMany(summary => summary.Reports).Where(report => report.ResultStatistics is not null)
            .ToDictionary(report => report.BenchmarkCase.Descriptor.WorkloadMethod.Name);
        double Ms(string name) => reports.TryGetValue(name, out var report) ? report.ResultStatistics!.Median / 1e6 : double.NaN;
        double KiB(string name) => reports.TryGetValue(name, out var report)
            && report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) is { } bytes ? bytes / 1024.0 : double.NaN;

        var figures = new Dictionary<string, double>
        {
            [Layout[0].Name] = Ms(nameof(ListBenchmarks.ListFunction100kPage20)),
            [Layout[1].Name] = Ms(nameof(ListBenchmarks.DirectQuery100kPage20)),
            [Layout[3].Name] = Ms(nameof(ListBenchmarks.ListFunction100kPage10)),
            [Layout[4].Name] = Ms(nameof(ListBenchmarks.ListFunction10Page10)),
            [Layout[6].Name] = Ms(nameof(LoginBenchmarks.LoginFunction)),
            [Layout[7].Name] = Ms(nameof(LoginBenchmarks.Argon2Verify)),
            [Layout[9].Name] = KiB(nameof(ListBenchmarks.ListFunction100kPage20)),
            [Layout[10].Name] = KiB(nameof(ListBenchmarks.DirectQuery100kPage20)),
            [Layout[11].Name] = KiB(nameof(LoginBenchmarks.LoginFunction)),
            [Layout[12].Name] = KiB(nameof(LoginBenchmarks.Argon2Verify)),
            [Layout[13].Name] = Ms(nameof(Argon2Benchmarks.Hash19MiB)),
            [Layout[15].Name] = Ms(nameof(Argon2Benchmarks.Hash190MiB)),
            [Layout[17].Name] = Ms(nameof(CompositionBenchmarks.ComposeWorker)),
        };
        figures[Layout[2].Name] = figures[Layout[0].Name] / figures[Layout[1].Name];
        figures[Layout[5].Name] = figures[Layout[3].Name] / figures[Layout[4].Name];
        figures[Layout[8].Name] = figures[Layout[6].Name] / figures[Layout[7].Name];
        figures[Layout[14].Name] = 1000 / figures[Layout[13].Name];
        figures[Layout[16].Name] = figures[Layout[15].Name] / figures[Layout[13].Name];
        return new RunSummary(figures);
    }

    public string Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"run-{DateTime.UtcNow:yyyyMMdd-HHmmss}.tsv");
        File.WriteAllLines(file, figures.Select(pair => pair.Key + "\t" + pair.Value.ToString("R", CultureInfo.InvariantCulture)));
        return file;
    }

    public static RunSummary Load(string file) => new(File.ReadAllLines(file)
        .Select(line => line.Split('\t'))
        .ToDictionary(parts => parts[0], parts => double.Parse(parts[1], CultureInfo.InvariantCulture)));

    /// <summary>Median, lowest and highest of each figure over the runs given (a ratio's median is of the per-run ratios).</summary>
    public static string Table(IReadOnlyList<RunSummary> runs)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| figure | median of {runs.Count} run(s) | range | unit | goal |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var (name, unit, goal) in Layout)
        {
            var values = runs.Select(run => run.Figures.GetValueOrDefault(name, double.NaN)).Where(value => !double.IsNaN(value)).Order().ToArray();
            if (values.Length == 0)
            {
                continue;
            }

            var median = values.Length % 2 == 1 ? values[values.Length / 2] : (values[(values.Length / 2) - 1] + values[values.Length / 2]) / 2;
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {Format(median, unit)} | {Format(values[0], unit)}–{Format(values[^1], unit)} | {unit} | {goal ?? ""} |");
        }

        return text.ToString();
    }

    public static int Aggregate(string[] files)
    {
        var paths = files.Length > 0 ? files : Directory.GetFiles(Path.Combine(BenchRun.ArtifactsPath, "runs"), "run-*.tsv").Order().ToArray();
        Console.WriteLine(Table([.. paths.Select(Load)]));
        Console.WriteLine("Runs: " + string.Join(", ", paths.Select(Path.GetFileName)));
        return 0;
    }

    private static string Format(double value, string unit) => unit switch
    {
        "ratio" => value.ToString("F2", CultureInfo.InvariantCulture),
        "ms" when value < 10 => value.ToString("F2", CultureInfo.InvariantCulture),
        _ => value.ToString("F1", CultureInfo.InvariantCulture),
    };
}
