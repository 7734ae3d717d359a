using System.Runtime.InteropServices;
using TunTelemetry.Agent.Os;
using Xunit;

namespace TunTelemetry.IntegrationTests.Agent;

/// <summary>The real C library: memory freed to malloc stays in the process until it is trimmed.</summary>
public sealed partial class NativeHeapTrimmerTests
{
    private const int Chunks = 400;
    private const int ChunkBytes = 64 * 1024; // below glibc's mmap threshold: served from a malloc arena

    [Fact]
    public unsafe void Freed_malloc_memory_returns_to_the_kernel_only_when_trimmed()
    {
        // Every other chunk stays allocated, so a freed chunk has allocated neighbours and cannot merge into the top of
        // a heap, which free() gives back by itself (and which malloc_trim does not trim in a thread's arena): only a trim
        // returns the freed ones. Residency is asked of the kernel for the freed chunks' own pages (mincore), not read
        // from the process's RSS, which every other thread of the test host moves too.
        var all = new nint[2 * Chunks];
        for (int i = 0; i < all.Length; i++)
        {
            all[i] = (nint)NativeMemory.Alloc(ChunkBytes);
            new Span<byte>((void*)all[i], ChunkBytes).Fill(1);
        }

        nint[] freedChunks = [.. all.Where((_, i) => i % 2 == 0)];
        foreach (nint chunk in freedChunks)
        {
            NativeMemory.Free((void*)chunk);
        }

        try
        {
            long interior = freedChunks.Sum(c => InteriorPages(c).Count);
            long freed = ResidentPages(freedChunks);
            Assert.True(NativeHeapTrimmer.TryTrim(), "malloc_trim is missing from this machine's libc");
            long trimmed = ResidentPages(freedChunks);

            Assert.True(freed >= interior / 2, $"before the trim only {freed} of {interior} freed pages were resident");
            Assert.True(trimmed <= interior / 4,
                $"after the trim {trimmed} of the {interior} freed pages are still resident (before: {freed})");
        }
        finally
        {
            foreach (nint kept in all.Where((_, i) => i % 2 == 1))
            {
                NativeMemory.Free((void*)kept);
            }
        }
    }

    /// <summary>Whole pages inside a freed chunk, past the bookkeeping malloc writes at its start.</summary>
    private static (nint Start, int Count) InteriorPages(nint chunk)
    {
        long page = Environment.SystemPageSize;
        long start = (chunk + 64 + page - 1) / page * page;
        long end = (chunk + ChunkBytes) / page * page;
        return ((nint)start, (int)Math.Max(0, (end - start) / page));
    }

    private static unsafe long ResidentPages(nint[] chunks)
    {
        long resident = 0;
        Span<byte> vector = stackalloc byte[ChunkBytes / 4096 + 1];
        foreach (nint chunk in chunks)
        {
            (nint start, int count) = InteriorPages(chunk);
            if (count == 0)
            {
                continue;
            }

            fixed (byte* v = vector)
            {
                // A freed chunk's pages stay mapped in the arena: mincore fails only on an unmapped range.
                if (MinCore(start, (nuint)(count * (long)Environment.SystemPageSize), v) != 0)
                {
                    throw new InvalidOperationException($"mincore failed: errno {Marshal.GetLastPInvokeError()}");
                }
            }

            for (int i = 0; i < count; i++)
            {
                resident += vector[i] & 1;
            }
        }

        return resident;
    }

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static unsafe partial int MinCore(nint address, nuint length, byte* vector);
}
