using TunTelemetry.Devices;

namespace TunTelemetry.Readers;

/// <summary>
/// Gives the readers a <c>/proc</c> scan found (keyed by the holding process's namespace and the device name) to the
/// watched devices, each of which lives in one namespace.
/// </summary>
/// <remarks>
/// An <c>fdinfo</c> names the device (<c>iff:</c>), never its namespace, and the process's <c>ns/net</c> is where the
/// process is now, not where the device is. Measured on Linux 6.18: after <c>ip link set dev tun0 netns B</c> the holder
/// in namespace A still shows <c>iff: tun0</c> (and the new name after a rename in B); a process that attached to a
/// device and then entered another namespace (<c>setns</c>) shows its new namespace. So:
/// <list type="number">
/// <item>A reader goes to the watched device of its name in its process's namespace, when there is one.</item>
/// <item>
/// Otherwise, when the process's namespace is one whose watched devices are known (the agent's own, or a namespace
/// being watched with <c>--all-namespaces</c>) and exactly one watched device of that name exists in any namespace, the
/// reader goes to it: the device was moved, or the process moved, after it attached.
/// </item>
/// <item>
/// When several namespaces have a watched device of that name, the reader is left out (<see cref="Attributed.Ambiguous"/>):
/// the scan cannot tell which one it holds, and a wrong process named as a device's reader is worse than none.
/// </item>
/// </list>
/// A process in an unwatched namespace keeps its readers there: that namespace's devices are not known, so a
/// same-named device of a watched one is not taken for it. Known limit: a holder whose device moved away while its
/// namespace got another device of the same name is taken for a reader of that one (rule 1); and a device the agent does
/// not watch (<c>devices.kind</c>, <c>max-devices</c>) is not known, so its holder can be taken, by rule 2, for a reader
/// of a watched same-named device in another namespace (<c>devices.include</c>/<c>exclude</c> match names, so they
/// select or leave out a name in every namespace alike).
/// </remarks>
internal static class ReaderAttribution
{
    /// <param name="table">One scan's readers.</param>
    /// <param name="watched">Every watched device with the inode of the namespace it is in.</param>
    /// <param name="listedNamespaces">The namespaces whose watched devices are all in <paramref name="watched"/>.</param>
    public static Attributed Attribute(TunReaderTable table, IReadOnlyList<(ulong Netns, TunDevice Device)> watched, IReadOnlySet<ulong> listedNamespaces)
    {
        var byKey = new Dictionary<NetnsDevice, int>(watched.Count);
        var byName = new Dictionary<string, List<int>>(watched.Count);
        for (int i = 0; i < watched.Count; i++)
        {
            (ulong netns, TunDevice device) = watched[i];
            byKey[new NetnsDevice(netns, device.Name)] = i;
            if (!byName.TryGetValue(device.Name, out List<int>? same))
            {
                byName[device.Name] = same = [];
            }

            same.Add(i);
        }

        var readers = new List<TunReader>?[watched.Count];
        int moved = 0, ambiguous = 0;
        foreach ((NetnsDevice key, IReadOnlyList<TunReader> found) in table.All)
        {
            int index;
            if (byKey.TryGetValue(key, out index))
            {
                // Rule 1: the device of that name in the process's namespace.
            }
            else if (listedNamespaces.Contains(key.NetNamespace) && byName.TryGetValue(key.Device, out List<int>? candidates))
            {
                if (candidates.Count > 1)
                {
                    ambiguous += found.Count;
                    continue;
                }

                index = candidates[0];
                moved += found.Count;
            }
            else
            {
                continue; // not a watched device, or one of a namespace whose devices are not known
            }

            (readers[index] ??= []).AddRange(found);
        }

        var result = new IReadOnlyList<TunReader>[watched.Count];
        for (int i = 0; i < result.Length; i++)
        {
            // Two namespaces' entries may meet on one device; a process is in one namespace, so no pid repeats.
            result[i] = readers[i] is { } list ? list.OrderBy(r => r.Pid).ToArray() : [];
        }

        return new Attributed(result, moved, ambiguous);
    }

    /// <param name="Readers">The readers of each watched device, in the order given, by pid; empty when none.</param>
    /// <param name="Moved">Readers given to a device of another namespace than their process's (rule 2).</param>
    /// <param name="Ambiguous">Readers left out because their device's name is watched in several namespaces.</param>
    public sealed record Attributed(IReadOnlyList<IReadOnlyList<TunReader>> Readers, int Moved, int Ambiguous);
}
