using Xunit;

namespace TunTelemetry.IntegrationTests.Dashboards;

/// <summary>
/// The model of the collector's naming (<see cref="CollectorMetricNames"/>) against the collector's own expectations,
/// then applied to the agent's instruments. What the agent's endpoint really serves is compared in
/// <see cref="DashboardQueryTests"/>.
/// </summary>
public sealed class CollectorMetricNamesTests
{
    /// <summary>Cases from opentelemetry-collector-contrib pkg/translator/prometheus/normalize_name_test.go.</summary>
    [Theory]
    [InlineData("system.filesystem.usage", "By", OtlpMetricType.Gauge, "system_filesystem_usage_bytes")]
    [InlineData("system.io", "By", OtlpMetricType.MonotonicSum, "system_io_bytes_total")]
    [InlineData("network_transmitted_bytes_total", "By", OtlpMetricType.MonotonicSum, "network_transmitted_bytes_total")]
    [InlineData("system.network.dropped", "{packets}", OtlpMetricType.Gauge, "system_network_dropped")]
    [InlineData("system.network.dropped", "{packets}", OtlpMetricType.MonotonicSum, "system_network_dropped_total")]
    [InlineData("hw.gpu.memory.utilization", "1", OtlpMetricType.Gauge, "hw_gpu_memory_utilization_ratio")]
    [InlineData("hw.fan.speed_ratio", "1", OtlpMetricType.Gauge, "hw_fan_speed_ratio")]
    [InlineData("objects", "1", OtlpMetricType.MonotonicSum, "objects_total")]
    [InlineData("system.disk.operation_time", "s", OtlpMetricType.MonotonicSum, "system_disk_operation_time_seconds_total")]
    [InlineData("mongodbatlas.process.network.io", "By/s", OtlpMetricType.Gauge, "mongodbatlas_process_network_io_bytes_per_second")]
    [InlineData("active_directory.ds.replication.object.rate", "{objects}/s", OtlpMetricType.Gauge, "active_directory_ds_replication_object_rate_per_second")]
    [InlineData("redis.latest_fork", "us", OtlpMetricType.Gauge, "redis_latest_fork_microseconds")]
    public void The_model_names_metrics_as_the_collectors_own_tests_expect(string name, string unit, OtlpMetricType type, string expected)
    {
        Assert.Equal(expected, CollectorMetricNames.PrometheusName(new OtlpMetric(name, unit, type)));
    }

    [Fact]
    public void Through_the_collector_the_agents_metrics_keep_their_names_except_the_unit_1_gauge()
    {
        Dictionary<string, string> names = CollectorMetricNames.AgentInstruments()
            .ToDictionary(m => m.Name, CollectorMetricNames.PrometheusName);
        Assert.Equal("tundev_txq_drops_total", names["tundev.txq.drops"]);
        Assert.Equal("system_network_io_bytes_total", names["system.network.io"]);
        Assert.Equal("tuntelemetry_poll_duration_seconds", names["tuntelemetry.poll.duration"]);
        Assert.Equal("tundev_link_mtu_bytes", names["tundev.link.mtu"]);
        Assert.Equal("tuntelemetry_devices_watched", names["tuntelemetry.devices.watched"]);
        Assert.Equal("tundev_link_oper_state_ratio", names["tundev.link.oper_state"]);
    }
}
