namespace TunTelemetry.Discovery;

internal enum NamespaceChangeKind
{
    /// <summary>A namespace was found: a bind mount or a process holds it.</summary>
    Appeared,

    /// <summary>Its last process and bind mount are gone: stop watching it and close what was opened for it.</summary>
    Gone,
}

/// <summary>A namespace appearing or going, with the name its series carry.</summary>
internal sealed record NamespaceChange(NamespaceChangeKind Kind, DiscoveredNamespace Namespace, string Name);
