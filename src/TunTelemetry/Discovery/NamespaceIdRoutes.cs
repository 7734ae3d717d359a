namespace TunTelemetry.Discovery;

/// <summary>
/// Which namespace discovery owns which namespace id (nsid) now, so that a link event heard with an nsid wakes the discovery
/// of that namespace and no other. Pure: <see cref="Actors.NamespacesActor"/> keeps one, keyed by its discovery actors.
/// </summary>
/// <remarks>
/// The kernel reuses an nsid (the lowest free one) once its namespace dies, so a route must never outlive the owner's
/// claim on it. Three things end a claim: the owner stops (<see cref="Release"/>); the kernel says the id was dropped
/// (<c>RTM_DELNSID</c>, <see cref="Drop"/>); another discovery claims the same id, which it can only have been given after
/// the first one's namespace died (<see cref="Claim"/>). In the last two cases the previous owner is returned, to be
/// asked to confirm its id with the kernel: an <c>RTM_DELNSID</c> heard late may be about an earlier owner of the id,
/// so the current owner confirms and claims again rather than be dropped on a guess. Until it does, events with that id
/// are not routed: they are dropped, and the confirmation re-reads the namespace instead.
/// </remarks>
internal sealed class NamespaceIdRoutes<TOwner>
    where TOwner : class
{
    private readonly Dictionary<int, TOwner> _owners = [];

    /// <summary>How many ids have an owner.</summary>
    public int Count => _owners.Count;

    /// <summary>The owners with a claimed id.</summary>
    public IEnumerable<TOwner> Owners => _owners.Values.Distinct();

    /// <summary>
    /// Records that <paramref name="owner"/> holds <paramref name="nsid"/> (the kernel gave it, or confirmed it). Returns
    /// the previous, different owner of that id, whose claim is now stale, else null. An owner holds one id: a claim of
    /// a new one drops its old one.
    /// </summary>
    public TOwner? Claim(int nsid, TOwner owner)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nsid);
        foreach (int held in _owners.Where(o => ReferenceEquals(o.Value, owner) && o.Key != nsid).Select(o => o.Key).ToList())
        {
            _owners.Remove(held);
        }

        TOwner? previous = _owners.GetValueOrDefault(nsid);
        _owners[nsid] = owner;
        return previous is null || ReferenceEquals(previous, owner) ? null : previous;
    }

    /// <summary>The kernel dropped <paramref name="nsid"/>: forgets it and returns its owner (to confirm), else null.</summary>
    public TOwner? Drop(int nsid) => _owners.Remove(nsid, out TOwner? owner) ? owner : null;

    /// <summary><paramref name="owner"/> stopped: forgets its id.</summary>
    public void Release(TOwner owner)
    {
        foreach (int held in _owners.Where(o => ReferenceEquals(o.Value, owner)).Select(o => o.Key).ToList())
        {
            _owners.Remove(held);
        }
    }

    /// <summary>The owner of <paramref name="nsid"/> now; false for an id nobody holds (unknown, dropped, or not yet claimed again).</summary>
    public bool TryRoute(int nsid, out TOwner owner)
    {
        if (_owners.TryGetValue(nsid, out TOwner? found))
        {
            owner = found;
            return true;
        }

        owner = null!;
        return false;
    }
}
