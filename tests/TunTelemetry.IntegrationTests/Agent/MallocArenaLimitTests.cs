using TunTelemetry.Agent.Os;
using Xunit;

namespace TunTelemetry.IntegrationTests.Agent;

/// <summary>The real C library: glibc's <c>mallopt</c> takes the arena cap; a cap from the environment is left alone.</summary>
[Collection(NativeHeapTrimmerTests.Name)]
public sealed class MallocArenaLimitTests
{
    [Fact]
    public void Glibc_accepts_the_arena_cap_when_the_environment_sets_none()
    {
        Assert.True(MallocArenaLimit.Apply(environmentValue: null));
    }

    [Fact]
    public void A_MALLOC_ARENA_MAX_from_the_environment_wins()
    {
        Assert.False(MallocArenaLimit.Apply(environmentValue: "4"));
    }
}
