using TunTelemetry.Agent.Cli;

return AgentCommandLine.Invoke(args);
