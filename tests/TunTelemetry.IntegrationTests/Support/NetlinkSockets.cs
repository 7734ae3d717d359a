using System.Globalization;

namespace TunTelemetry.IntegrationTests.Support;

/// <summary>Counts this process's open NETLINK_ROUTE sockets: its socket descriptors matched to /proc/net/netlink.</summary>
public static class NetlinkSockets
{
    public static int OpenRouteSockets()
    {
        var routeInodes = new HashSet<string>();
        foreach (string line in File.ReadLines("/proc/net/netlink").Skip(1))
        {
            // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
            string[] columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length >= 10 && columns[1] == "0")
            {
                routeInodes.Add(columns[9]);
            }
        }

        int count = 0;
        foreach (string fd in Directory.GetFiles("/proc/self/fd"))
        {
            string? target = null;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                // closed while we looked
            }

            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal)
                && routeInodes.Contains(target["socket:[".Length..^1]))
            {
                count++;
            }
        }

        return count;
    }

    public static string Describe(int count) => count.ToString(CultureInfo.InvariantCulture);
}
