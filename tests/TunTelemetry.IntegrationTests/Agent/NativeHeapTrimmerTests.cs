using System.Runtime.InteropServices;
using TunTelemetry.Agent.Os;
using Xunit;

namespace TunTelemetry.IntegrationTests.Agent;

/// <summary>The real C library: memory freed to malloc stays in the process until it is trimmed.</summary>
[Collection(Name)]
public sealed class NativeHeapTrimmerTests
{
    // Alone, after the parallel tests: the test reads the process's resident memory.
    public const string Name = "resident memory";

    private const int Chunks = 1600;
    private const int ChunkBytes = 64 * 1024; // below glibc's mmap threshold: served from a malloc arena

    [Fact]
    public unsafe void Freed_malloc_memory_returns_to_the_kernel_only_when_trimmed()
    {
        // Each chunk is followed by a small fence that stays allocated, so no freed chunk can merge into the top of a
        // heap, which free() would give back by itself: only a trim can return them.
        var chunks = new nint[Chunks];
        var fences = new nint[Chunks];
        for (int i = 0; i < Chunks; i++)
        {
            chunks[i] = (nint)NativeMemory.Alloc(ChunkBytes);
            new Span<byte>((void*)chunks[i], ChunkBytes).Fill(1);
            fences[i] = (nint)NativeMemory.Alloc(64);
        }

        foreach (nint chunk in chunks)
        {
            NativeMemory.Free((void*)chunk);
        }

        long freed = RssAnonBytes();
        Assert.True(NativeHeapTrimmer.TryTrim(), "malloc_trim is missing from this machine's libc");
        long trimmed = RssAnonBytes();
        foreach (nint fence in fences)
        {
            NativeMemory.Free((void*)fence);
        }

        Assert.True(freed - trimmed >= Chunks * (long)ChunkBytes / 2,
            $"after free {freed >> 20} MiB, after trim {trimmed >> 20} MiB: trimming returned {(freed - trimmed) >> 20} MiB of the {(Chunks * (long)ChunkBytes) >> 20} MiB freed");
    }

    private static long RssAnonBytes()
    {
        string line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("RssAnon:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}

[CollectionDefinition(NativeHeapTrimmerTests.Name, DisableParallelization = true)]
public sealed class ResidentMemoryCollection;
