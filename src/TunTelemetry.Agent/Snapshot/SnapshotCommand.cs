using TunTelemetry.Devices;
using TunTelemetry.Netlink;
using TunTelemetry.Readers;

namespace TunTelemetry.Agent.Snapshot;

/// <summary>
/// <c>snapshot</c>: reads every TUN/TAP device's counters, TUN settings and readers once (or every link's, or the named
/// ones') and prints them.
/// </summary>
internal static class SnapshotCommand
{
    internal static int Run(bool json, bool allLinks, IReadOnlyList<string> deviceNames, TextWriter output, TextWriter error, bool allNamespaces = false)
    {
        if (allNamespaces && deviceNames.Count > 0)
        {
            error.WriteLine("tuntelemetry: snapshot --all-namespaces shows every device; it takes no DEVICE names (a name may be in several namespaces)");
            return ExitCodes.BadUsage;
        }

        try
        {
            return Read(json, allLinks, deviceNames, output, error, allNamespaces);
        }
        catch (NetlinkException e)
        {
            // A one-shot command has nothing to retry into: say what failed in one line, print nothing half-read.
            error.WriteLine($"tuntelemetry: reading the kernel's devices failed ({e.Reason}): {HumanText.Escape(e.Message)}");
            return ExitCodes.Failure;
        }
    }

    private static int Read(bool json, bool allLinks, IReadOnlyList<string> deviceNames, TextWriter output, TextWriter error, bool allNamespaces)
    {
        using RouteSocket socket = RouteSocket.Open();
        int code = Take(socket, allLinks, deviceNames, allNamespaces, scanReaders: true, error, out List<DeviceSnapshot> snapshots, out TunReaderTable readers);
        if (code != ExitCodes.Success)
        {
            return code;
        }

        if (json)
        {
            SnapshotJson.Write(snapshots, output);
        }
        else
        {
            SnapshotTable.Write(snapshots, output);
            if (readers.HiddenProcesses > 0)
            {
                output.WriteLine($"Readers are shown among the processes this user can see ({readers.Processes - readers.HiddenProcesses} of {readers.Processes}): run as root to see every process.");
            }
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// Reads every TUN/TAP device once (or every link, or the named ones; with <paramref name="allNamespaces"/> every
    /// namespace's): counters, TUN settings and, with <paramref name="scanReaders"/>, their readers from one
    /// <c>/proc</c> scan. <c>snapshot</c> prints one such reading; <c>diagnose</c> compares several.
    /// </summary>
    /// <returns>An exit code: success, or not found (a named device is missing; said on <paramref name="error"/>).</returns>
    internal static int Take(RouteSocket socket, bool allLinks, IReadOnlyList<string> deviceNames, bool allNamespaces, bool scanReaders,
        TextWriter error, out List<DeviceSnapshot> snapshots, out TunReaderTable readers)
    {
        snapshots = [];
        readers = TunReaderTable.Empty;
        List<LinkDescription> links;
        if (deviceNames.Count > 0)
        {
            links = [];
            foreach (string name in deviceNames)
            {
                LinkDescription? link = TryGetLink(socket, name, error);
                if (link is null)
                {
                    return ExitCodes.NotFound;
                }

                links.Add(link);
            }
        }
        else
        {
            links = socket.DumpLinks(LinkTarget.Own).Where(l => allLinks || l.IsTunOrTap).OrderBy(l => l.IfIndex).ToList();
        }

        ulong? netns = TunReaderScan.OwnNetNamespace();
        readers = !scanReaders || netns is null || (!links.Any(l => l.IsTunOrTap) && !allNamespaces) ? TunReaderTable.Empty : TunReaderScan.Scan();
        DeviceNamespace? ownNamespace = allNamespaces ? DeviceNamespace.Own() : null;
        foreach (LinkDescription link in links)
        {
            try
            {
                snapshots.Add(new DeviceSnapshot(link, socket.ReadStats(LinkTarget.Own, link.IfIndex, link.Name),
                    link.IsTunOrTap && netns is not null ? [] : null, ownNamespace));
            }
            catch (NetlinkDeviceGoneException) when (deviceNames.Count == 0)
            {
                // Deleted between the list and its stats request: it is no longer a device of this host.
            }
            catch (NetlinkDeviceGoneException)
            {
                error.WriteLine($"tuntelemetry: no such device: {HumanText.Escape(link.Name)} (deleted while reading it)");
                return ExitCodes.NotFound;
            }
        }

        var listed = new List<ulong>();
        if (allNamespaces)
        {
            (List<DeviceSnapshot> others, listed) = OtherNamespaces.Read(error);
            snapshots.AddRange(others);
        }

        if (netns is { } own && scanReaders)
        {
            snapshots = SnapshotReaders.Fill(snapshots, readers, own, listed);
        }

        return ExitCodes.Success;
    }

    private static LinkDescription? TryGetLink(RouteSocket socket, string name, TextWriter error)
    {
        try
        {
            LinkDescription? link = socket.GetLink(LinkTarget.Own, name);
            if (link is null)
            {
                error.WriteLine($"tuntelemetry: no such device: {HumanText.Escape(name)}");
            }

            return link;
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"tuntelemetry: no such device: {HumanText.Escape(e.Message)}");
            return null;
        }
    }
}
