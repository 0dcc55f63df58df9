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
        (ListFunction, "ms", null),
        (DirectQuery, "ms", null),
        (ListRatio, "ratio", "≤ 1.10"),
        ("paired: list function ÷ direct query", "ratio", "≤ 1.10"),
        (List100k, "ms", null),
        (List10, "ms", null),
        (SizeRatio, "ratio", "≤ 1.2"),
        ("paired: list 100,000 items ÷ 10 items", "ratio", "≤ 1.2"),
        (List10InBigTable, "ms", null),
        (Direct100k, "ms", null),
        ("paired: list 100,000 items, function ÷ direct query", "ratio", "report"),
        (SameTableSizeRatio, "ratio", "report"),
        (Login, "ms", null),
        (Argon2Verify, "ms", null),
        (LoginRatio, "ratio", "≤ 1.15"),
        ("paired: login function ÷ Argon2id verification", "ratio", "≤ 1.15"),
        (ListAllocated, "KiB", "report"),
        (DirectAllocated, "KiB", "report"),
        (AuthAllocated, "KiB", "report"),
        (WriteAllocated, "KiB", "report"),
        (LoginAllocated, "KiB", "report"),
        (Argon2Allocated, "KiB", "report"),
        (Hash19, "ms", null),
        (HashRate, "1/s", "report"),
        (Hash190, "ms", null),
        (MemoryUnitRatio, "ratio", "≈ 10 if MemorySize is KiB"),
        (Composition, "ms", "report"),
    ];

    private const string ListRatio = "list: function ÷ direct query";
    private const string SizeRatio = "list: 100,000 items ÷ 10 items";
    private const string SameTableSizeRatio = "list: 100,000 items ÷ 10 items in the same table";
    private const string LoginRatio = "login: function ÷ Argon2id verification";
    private const string HashRate = "Argon2id hashes per second per core";
    private const string MemoryUnitRatio = "Argon2id: 190 MiB ÷ 19 MiB time";
    private const string ListFunction = "list page (20) via function";
    private const string DirectQuery = "list page (20) direct TableClient.QueryAsync";
    private const string List100k = "list page (10), 100,000-item partition";
    private const string List10 = "list page (10), 10-item partition";
    private const string List10InBigTable = "list page (10), 10-item partition in the 100,000-item table";
    private const string Direct100k = "list page (10), 100,000-item partition, direct query";
    private const string Login = "login via function";
    private const string Argon2Verify = "Argon2id verification (19 MiB, t=2, p=1)";
    private const string ListAllocated = "allocated per list request (function, page of 20)";
    private const string DirectAllocated = "allocated per direct query (page of 20)";
    private const string AuthAllocated = "of which: bearer token check";
    private const string WriteAllocated = "of which: writing the page as JSON";
    private const string LoginAllocated = "allocated per login request (function)";
    private const string Argon2Allocated = "allocated per Argon2id verification (managed heap)";
    private const string Hash19 = "Argon2id hash (19 MiB, t=2, p=1), one thread";
    private const string Hash190 = "Argon2id hash (190 MiB, t=2, p=1), one thread";
    private const string Composition = "worker composition, warm (build + resolve all)";

    public IReadOnlyDictionary<string, double> Figures => figures;

    public void Add(IReadOnlyDictionary<string, double> more)
    {
        foreach (var (name, value) in more)
        {
            figures[name] = value;
        }
    }

    public static RunSummary From(IEnumerable<Summary> summaries)
    {
        var reports = summaries.SelectMany(summary => summary.Reports).Where(report => report.ResultStatistics is not null)
            .ToDictionary(report => report.BenchmarkCase.Descriptor.WorkloadMethod.Name);
        double Ms(string name) => reports.TryGetValue(name, out var report) ? report.ResultStatistics!.Median / 1e6 : double.NaN;
        double KiB(string name) => reports.TryGetValue(name, out var report)
            && report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) is { } bytes ? bytes / 1024.0 : double.NaN;

        var figures = new Dictionary<string, double>
        {
            [ListFunction] = Ms(nameof(ListBenchmarks.ListFunctionPage20)),
            [DirectQuery] = Ms(nameof(ListBenchmarks.DirectQueryPage20)),
            [List100k] = Ms(nameof(ListBenchmarks.ListFunction100kPage10)),
            [List10] = Ms(nameof(ListBenchmarks.ListFunction10Page10)),
            [List10InBigTable] = Ms(nameof(ListBenchmarks.ListFunction10InBigTablePage10)),
            [Direct100k] = Ms(nameof(ListBenchmarks.DirectQuery100kPage10)),
            [Login] = Ms(nameof(LoginBenchmarks.LoginFunction)),
            [Argon2Verify] = Ms(nameof(LoginBenchmarks.Argon2Verify)),
            [ListAllocated] = KiB(nameof(ListBenchmarks.ListFunctionPage20)),
            [DirectAllocated] = KiB(nameof(ListBenchmarks.DirectQueryPage20)),
            [AuthAllocated] = KiB(nameof(RequestOverheadBenchmarks.AuthenticateBearer)),
            [WriteAllocated] = KiB(nameof(RequestOverheadBenchmarks.WritePage20)),
            [LoginAllocated] = KiB(nameof(LoginBenchmarks.LoginFunction)),
            [Argon2Allocated] = KiB(nameof(LoginBenchmarks.Argon2Verify)),
            [Hash19] = Ms(nameof(Argon2Benchmarks.Hash19MiB)),
            [Hash190] = Ms(nameof(Argon2Benchmarks.Hash190MiB)),
            [Composition] = Ms(nameof(CompositionBenchmarks.ComposeWorker)),
        };
        figures[ListRatio] = figures[ListFunction] / figures[DirectQuery];
        figures[SizeRatio] = figures[List100k] / figures[List10];
        figures[SameTableSizeRatio] = figures[List100k] / figures[List10InBigTable];
        figures[LoginRatio] = figures[Login] / figures[Argon2Verify];
        figures[HashRate] = 1000 / figures[Hash19];
        figures[MemoryUnitRatio] = figures[Hash190] / figures[Hash19];
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
