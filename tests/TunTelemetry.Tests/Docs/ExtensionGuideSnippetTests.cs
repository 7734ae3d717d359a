using System.Text.RegularExpressions;
using Xunit;

namespace TunTelemetry.Tests.Docs;

/// <summary>
/// The extension guide is code that runs: every C# snippet of <c>docs/extending.md</c> and of README's "Adding a
/// per-device actor" is a region of the sample in <c>tests/TunTelemetry.Extensions.Tests</c> (built and tested with the
/// suite, from outside the library), copied as it is. A region is marked in the source by <c>// snippet: NAME</c> and
/// <c>// end snippet</c> lines; the docs name it in a <c>&lt;!-- snippet: NAME --&gt;</c> line just before the code
/// block. The snippet shows the region's lines less their common indentation.
/// </summary>
public sealed partial class ExtensionGuideSnippetTests
{
    private const string SampleProject = "tests/TunTelemetry.Extensions.Tests";
    private const string ReadmeSection = "## Adding a per-device actor";

    [Fact]
    public void Every_csharp_snippet_of_the_guide_is_a_region_of_the_sample_as_it_is()
    {
        string root = FindRepoRoot();
        IReadOnlyDictionary<string, string> regions = SampleRegions(root);
        List<DocSnippet> snippets = [.. GuideSnippets(root)];

        Assert.NotEmpty(snippets);
        IReadOnlyList<string> problems = Compare(regions, snippets);
        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    [Fact]
    public void Every_region_of_the_sample_is_shown_and_the_readme_shows_the_registration()
    {
        string root = FindRepoRoot();
        IReadOnlyDictionary<string, string> regions = SampleRegions(root);
        List<DocSnippet> snippets = [.. GuideSnippets(root)];

        Assert.Empty(regions.Keys.Except(snippets.Select(s => s.Name!).Where(n => n is not null)).Order());
        Assert.Contains(snippets, s => s.Where.StartsWith("README.md", StringComparison.Ordinal) && s.Name == "register");
    }

    [Fact]
    public void A_snippet_that_differs_from_its_region_or_names_none_is_reported()
    {
        IReadOnlyDictionary<string, string> regions = Regions(
            "class C\n{\n    // snippet: tick\n    void Tick()\n    {\n        Read();\n    }\n    // end snippet\n}\n", "C.cs");
        Assert.Equal("void Tick()\n{\n    Read();\n}", regions["tick"]);

        string doc = "<!-- snippet: tick -->\n```csharp\nvoid Tick()\n{\n    Read();\n}\n```\n\n"
            + "<!-- snippet: tick -->\n```csharp\nvoid Tick()\n{\n    ReadAll();\n}\n```\n\n"
            + "```csharp\nvoid Unmarked() { }\n```\n\n"
            + "<!-- snippet: gone -->\n```csharp\nvoid Gone() { }\n```\n";
        IReadOnlyList<string> problems = Compare(regions, [.. Snippets(doc, "doc.md")]);

        Assert.Equal(3, problems.Count);
        Assert.Contains("doc.md:10", problems[0], StringComparison.Ordinal);
        Assert.Contains("ReadAll", problems[0], StringComparison.Ordinal);
        Assert.Contains("doc.md:17", problems[1], StringComparison.Ordinal);
        Assert.Contains("no <!-- snippet: NAME --> line", problems[1], StringComparison.Ordinal);
        Assert.Contains("'gone'", problems[2], StringComparison.Ordinal);
    }

    private sealed record DocSnippet(string? Name, string Where, string Code);

    private static IReadOnlyList<string> Compare(IReadOnlyDictionary<string, string> regions, IEnumerable<DocSnippet> snippets)
    {
        var problems = new List<string>();
        foreach (DocSnippet snippet in snippets)
        {
            if (snippet.Name is null)
            {
                problems.Add($"{snippet.Where}: a C# block with no <!-- snippet: NAME --> line before it: take it from a region of {SampleProject}");
            }
            else if (!regions.TryGetValue(snippet.Name, out string? region))
            {
                problems.Add($"{snippet.Where}: no region '{snippet.Name}' (// snippet: {snippet.Name} … // end snippet) in {SampleProject}");
            }
            else if (region != snippet.Code)
            {
                problems.Add($"{snippet.Where}: snippet '{snippet.Name}' differs from its region in {SampleProject}. The region:\n{region}\nThe docs:\n{snippet.Code}");
            }
        }

        return problems;
    }

    private static IReadOnlyDictionary<string, string> SampleRegions(string root)
    {
        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        string sample = Path.Combine(root, SampleProject);
        foreach (string file in Directory.EnumerateFiles(sample, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(root, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            {
                continue;
            }

            foreach ((string name, string code) in Regions(File.ReadAllText(file), relative))
            {
                Assert.True(regions.TryAdd(name, code), $"region '{name}' is marked twice ({relative})");
            }
        }

        return regions;
    }

    private static IReadOnlyDictionary<string, string> Regions(string source, string file)
    {
        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        string? open = null;
        var lines = new List<string>();
        string[] all = Lines(source);
        for (int i = 0; i < all.Length; i++)
        {
            Match start = RegionStart().Match(all[i]);
            if (start.Success)
            {
                Assert.True(open is null, $"{file}:{i + 1}: region '{start.Groups[1].Value}' opens inside region '{open}'");
                open = start.Groups[1].Value;
                lines.Clear();
            }
            else if (RegionEnd().IsMatch(all[i]))
            {
                Assert.True(open is not null, $"{file}:{i + 1}: '// end snippet' with no region open");
                Assert.True(regions.TryAdd(open!, Dedent(lines)), $"{file}: region '{open}' is marked twice");
                open = null;
            }
            else if (open is not null)
            {
                lines.Add(all[i]);
            }
        }

        Assert.True(open is null, $"{file}: region '{open}' has no '// end snippet'");
        return regions;
    }

    private static IEnumerable<DocSnippet> GuideSnippets(string root)
    {
        foreach (DocSnippet snippet in Snippets(File.ReadAllText(Path.Combine(root, "docs", "extending.md")), "docs/extending.md"))
        {
            yield return snippet;
        }

        string[] readme = Lines(File.ReadAllText(Path.Combine(root, "README.md")));
        int from = Array.IndexOf(readme, ReadmeSection);
        Assert.True(from >= 0, $"README.md has no \"{ReadmeSection}\" section");
        int to = Array.FindIndex(readme, from + 1, l => l.StartsWith("## ", StringComparison.Ordinal));
        string section = string.Join('\n', readme[from..(to < 0 ? readme.Length : to)]);
        foreach (DocSnippet snippet in Snippets(section, "README.md", firstLine: from + 1))
        {
            yield return snippet;
        }
    }

    /// <summary>The C# code blocks of a Markdown text, each with the region its marker line names (null if none).</summary>
    private static IEnumerable<DocSnippet> Snippets(string markdown, string file, int firstLine = 1)
    {
        string[] lines = Lines(markdown);
        for (int i = 0; i < lines.Length; i++)
        {
            if (!CSharpFence().IsMatch(lines[i]))
            {
                continue;
            }

            Match marker = i > 0 ? DocMarker().Match(lines[i - 1]) : Match.Empty;
            int end = Array.FindIndex(lines, i + 1, l => l.TrimEnd() == "```");
            Assert.True(end > i, $"{file}:{firstLine + i}: a code block that never closes");
            yield return new DocSnippet(
                marker.Success ? marker.Groups[1].Value : null,
                $"{file}:{firstLine + i}",
                string.Join('\n', lines[(i + 1)..end]));
            i = end;
        }
    }

    private static string[] Lines(string text) =>
        text.ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd()).ToArray();

    private static string Dedent(List<string> lines)
    {
        int indent = lines.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Length == 0 ? l : l[indent..]));
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && File.Exists(Path.Combine(dir.FullName, "TunTelemetry.sln")))
            {
                return dir.FullName;
            }
        }

        throw new FileNotFoundException("README.md next to TunTelemetry.sln");
    }

    [GeneratedRegex(@"^\s*// snippet: ([a-z0-9-]+)$")]
    private static partial Regex RegionStart();

    [GeneratedRegex(@"^\s*// end snippet$")]
    private static partial Regex RegionEnd();

    [GeneratedRegex(@"^<!-- snippet: ([a-z0-9-]+) -->$")]
    private static partial Regex DocMarker();

    [GeneratedRegex(@"^```(csharp|cs|c#)$")]
    private static partial Regex CSharpFence();
}
