using System.Data.Common;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Environments;

/// <summary>What an environment write did: exactly one of these.</summary>
public abstract record EnvironmentWriteResult
{
    private EnvironmentWriteResult() { }

    public sealed record Done(EnvironmentResource Environment) : EnvironmentWriteResult;

    public sealed record NotFound : EnvironmentWriteResult;

    public sealed record NameTaken(string Detail) : EnvironmentWriteResult;

    /// <summary>The value is well-formed but does not fit the stored list (e.g. a position past the end).</summary>
    public sealed record Invalid(Validator Errors) : EnvironmentWriteResult;

    public sealed record Forbidden(string Detail) : EnvironmentWriteResult;
}

/// <summary>Every environment write goes through here, one transaction each; flags ask it through <see cref="IEnvironmentRegistry"/>.</summary>
/// <remarks>
/// An environment that comes into being (created, or registered by a flag that names it) gives every flag a disabled
/// configuration there in the same transaction (<see cref="IEnvironmentFlags"/>, issue 26).
/// </remarks>
public sealed class EnvironmentService(Db db, TimeProvider clock, IEnvironmentFlags? flags = null) : IEnvironmentRegistry
{
    public async Task<EnvironmentAdmission> AdmitAsync(DbConnection connection, DbTransaction transaction, string environment, CancellationToken ct)
    {
        if (await EnvironmentStore.GetAsync(connection, transaction, environment, ct) is { } existing)
            return existing.Retired ? EnvironmentAdmission.Retired : EnvironmentAdmission.Admitted;
        if (!await EnvironmentStore.TryAddAsync(connection, transaction, environment, EnvironmentRules.DefaultColor, clock.GetUtcNow(), ct))
            return EnvironmentAdmission.Admitted;
        if (flags is not null) await flags.ConfigureEveryFlagAsync(connection, transaction, environment, ct);
        return EnvironmentAdmission.Registered;
    }

    public async Task<IReadOnlyList<EnvironmentEntry>> OrderAsync(DbConnection connection, DbTransaction? transaction, CancellationToken ct) =>
        (await EnvironmentStore.ListAsync(connection, transaction, ct)).ConvertAll(e => new EnvironmentEntry(e.Name, e.Retired));

    public async Task<EnvironmentWriteResult> CreateAsync(CreateEnvironmentRequest r, Actor? actor, CancellationToken ct)
    {
        var name = r.Name!;
        // a scoped key reaches one environment: it may register its own, not open another
        if (!actor.Sees(name))
            return new EnvironmentWriteResult.Forbidden($"This key is scoped to the environment '{actor?.Environment}'; it may not create '{name}'.");
        await using var s = await db.BeginWriteAsync(WriteLock.Named("environments"), ct);
        if (!await EnvironmentStore.TryAddAsync(s.Connection, s.Transaction, name, r.Color ?? EnvironmentRules.DefaultColor, clock.GetUtcNow(), ct))
            return new EnvironmentWriteResult.NameTaken($"An environment named '{name}' already exists (retired environments keep their names).");
        if (flags is not null) await flags.ConfigureEveryFlagAsync(s.Connection, s.Transaction, name, ct);
        var created = (await EnvironmentStore.GetAsync(s.Connection, s.Transaction, name, ct))!;
        await s.CommitAsync(ct);
        return new EnvironmentWriteResult.Done(created);
    }

    /// <summary>Recolours, retires or un-retires, and moves: a new position shifts the environments between the old and the new one.</summary>
    public async Task<EnvironmentWriteResult> PatchAsync(string name, PatchEnvironmentRequest p, CancellationToken ct)
    {
        await using var s = await db.BeginWriteAsync(WriteLock.Named("environments"), ct);
        var all = await EnvironmentStore.ListAsync(s.Connection, s.Transaction, ct);
        var index = all.FindIndex(e => e.Name == name);
        if (index < 0) return new EnvironmentWriteResult.NotFound();
        if (p.Position is { } to && to >= all.Count)
            return new EnvironmentWriteResult.Invalid(new Validator().Add("position", $"must be between 0 and {all.Count - 1} (there are {all.Count} environments)"));

        var before = all[index];
        var after = before with
        {
            Color = p.Color ?? before.Color, Retired = p.Retired ?? before.Retired, Protected = p.Protected ?? before.Protected,
            ApprovalExemptions = p.ApprovalExemptions is { } exempt
                ? EnvironmentRules.SafetyActions.Where(exempt.Contains).ToList() : before.ApprovalExemptions,
        };
        var order = all.Where(e => e.Name != name).ToList();
        order.Insert(p.Position ?? index, after);
        var now = clock.GetUtcNow();
        EnvironmentResource? written = null;
        for (var i = 0; i < order.Count; i++)
        {
            var e = order[i];
            var original = all.First(x => x.Name == e.Name);
            // positions are renumbered 0..n-1, which also repairs gaps left by a hand-edited table
            var next = e with { Position = i };
            if (next == original) continue;
            next = next with { UpdatedAt = now };
            await EnvironmentStore.UpdateAsync(s, next, ct);
            if (next.Name == name) written = next;
        }
        await s.CommitAsync(ct);
        return new EnvironmentWriteResult.Done(written ?? before);
    }

    public async Task<List<EnvironmentResource>> ListAsync(Actor? actor, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await EnvironmentStore.ListAsync(conn, null, ct)).Where(e => actor.Sees(e.Name)).ToList();
    }

    public async Task<EnvironmentResource?> GetAsync(Actor? actor, string name, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await EnvironmentStore.GetAsync(conn, null, name, ct) is { } e && actor.Sees(e.Name) ? e : null;
    }
}
