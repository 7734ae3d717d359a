using System.Globalization;

namespace TunTelemetry.Benchmarks;

/// <summary>
/// Prints every figure as <c>RESULT key=value</c> and appends it to the file named by <c>--results</c> (or the
/// <c>BENCH_RESULTS</c> variable), which bench/run.sh turns into its final table.
/// </summary>
internal static class Results
{
    public static string? FilePath { get; set; } = Environment.GetEnvironmentVariable("BENCH_RESULTS");

    public static void Put(string key, double value, string format = "F1") => Put(key, value.ToString(format, CultureInfo.InvariantCulture));

    public static void Put(string key, long value) => Put(key, value.ToString(CultureInfo.InvariantCulture));

    public static void Put(string key, string value)
    {
        string line = $"{key}={value}";
        Console.WriteLine($"RESULT {line}");
        if (FilePath is { Length: > 0 } path)
        {
            File.AppendAllText(path, line + "\n");
        }
    }
}
