using TunTelemetry.Agent.ConsoleView;
using TunTelemetry.Agent.Telemetry;
using TunTelemetry.Hosting;
using Xunit;

namespace TunTelemetry.Tests.Agent;

/// <summary>OTEL_METRICS_EXPORTER and the Prometheus listen address together decide which exporters run.</summary>
public sealed class MetricsExportersTests
{
    private static readonly ListenAddress Listen = new("127.0.0.1", 9464);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Unset_it_exports_OTLP_alone_as_before(string? variable)
    {
        MetricsExporters chosen = MetricsExporters.Choose(variable, listen: null);
        Assert.Equal(new MetricsExporters(Otlp: true, Prometheus: null, []), chosen with { Warnings = [] });
        Assert.Empty(chosen.Warnings);
    }

    [Fact]
    public void A_listen_address_alone_adds_Prometheus_beside_OTLP()
    {
        MetricsExporters chosen = MetricsExporters.Choose(null, Listen);
        Assert.True(chosen.Otlp);
        Assert.Equal(Listen, chosen.Prometheus);
        Assert.Empty(chosen.Warnings);
    }

    [Theory]
    [InlineData("prometheus", false, true)]
    [InlineData("otlp,prometheus", true, true)]
    [InlineData(" Prometheus , OTLP ", true, true)]
    [InlineData("otlp", true, false)]
    public void The_variable_names_the_exporters(string variable, bool otlp, bool prometheus)
    {
        MetricsExporters chosen = MetricsExporters.Choose(variable, Listen);
        Assert.Equal(otlp, chosen.Otlp);
        Assert.Equal(prometheus ? Listen : null, chosen.Prometheus);
    }

    [Fact]
    public void Prometheus_without_an_address_takes_the_exporters_own_defaults() =>
        Assert.Same(MetricsExporters.EnvironmentDefault, MetricsExporters.Choose("prometheus", listen: null).Prometheus);

    [Theory]
    [InlineData("none")]
    [InlineData("otlp,none")]
    [InlineData("none,prometheus")]
    public void None_turns_every_exporter_off(string variable)
    {
        MetricsExporters chosen = MetricsExporters.Choose(variable, Listen);
        Assert.True(chosen.None);
    }

    [Fact]
    public void An_unknown_value_is_one_warning_line_and_ignored()
    {
        MetricsExporters chosen = MetricsExporters.Choose("otlp,zipkin", listen: null);
        Assert.True(chosen.Otlp);
        Assert.Null(chosen.Prometheus);
        string warning = Assert.Single(chosen.Warnings);
        Assert.Contains("'zipkin'", warning, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', warning);
    }

    [Fact]
    public void Only_unknown_values_fall_back_to_the_default()
    {
        MetricsExporters chosen = MetricsExporters.Choose("logging", Listen);
        Assert.True(chosen.Otlp);
        Assert.Equal(Listen, chosen.Prometheus);
        Assert.Single(chosen.Warnings);
    }

    [Fact]
    public void A_listen_address_the_variable_leaves_out_is_warned_about()
    {
        MetricsExporters chosen = MetricsExporters.Choose("otlp", Listen);
        Assert.Null(chosen.Prometheus);
        Assert.Contains("127.0.0.1:9464", Assert.Single(chosen.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void With_OTLP_off_the_console_names_no_collector()
    {
        string hint = ConsoleViewService.EndpointHint(MetricsExporters.Choose("prometheus", Listen));
        Assert.Contains("http://127.0.0.1:9464/metrics", hint, StringComparison.Ordinal);
        Assert.DoesNotContain("OTLP", hint, StringComparison.Ordinal);
    }
}
