using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

/// <summary>One flag of an imported flag set (e.g. a flagd file), matched to stored flags by its key.</summary>
public sealed record FlagImport(string Key, bool Enabled, JsonElement Variants, string DefaultVariant, JsonElement? Targeting);

/// <summary>Import a flag set into one environment, as <paramref name="Actor"/> (on behalf of <paramref name="ChangedBy"/>).</summary>
public sealed record ImportFlagsCommand(IReadOnlyList<FlagImport> Flags, string Environment, string ChangedBy, Actor? Actor)
{
    /// <summary><c>?bypass=true</c>: an admin imports into a protected environment (each change row says so).</summary>
    public bool Bypass { get; init; }
}

/// <summary>What an import wrote, or (<see cref="Errors"/> set) why it wrote nothing.</summary>
public sealed record ImportResult(IReadOnlyList<Flag> Created, IReadOnlyList<Flag> Updated, int Unchanged, Validator? Errors = null)
{
    /// <summary>Set when the import would put a flag where the caller may not reach (<see cref="FlagScope"/>); nothing was written.</summary>
    public string? Forbidden { get; init; }
}

public sealed partial class FlagService
{
    /// <summary>
    /// Creates or updates every flag of a set in one transaction, each with its change-log row; if any flag cannot
    /// be served, nothing is written and the errors name <c>flags.{key}.{path}</c>. An imported flag serves its
    /// variants to everyone its targeting does not decide for (rollout 100 %), like the file says.
    /// </summary>
    public async Task<ImportResult> ImportAsync(ImportFlagsCommand command, CancellationToken ct)
    {
        if (!command.Actor.MayStoreIn(command.Environment))
            return new ImportResult([], [], 0) { Forbidden = FlagScope.ForbiddenDetail(command.Actor, command.Environment) };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (await ImportOnceAsync(command, attempt == MaxImportAttempts ? WriteLock.All : null, ct) is { } done) return done;
            }
            catch (Exception e) when (Sql.IsUniqueViolation(e) && attempt < MaxImportAttempts)
            {
                // another writer created a flag of one of the set's keys or names meanwhile: the next attempt sees it
            }
        }
    }

    /// <summary>After this many attempts an import takes <see cref="WriteLock.All"/>, which no other writer can race.</summary>
    private const int MaxImportAttempts = 3;

    /// <summary>
    /// One attempt: locks the flags the set's keys name now (or <paramref name="everything"/>), then plans and writes. Null
    /// when a key names a flag this attempt did not lock (another writer created or re-keyed it meanwhile): nothing written.
    /// </summary>
    private async Task<ImportResult?> ImportOnceAsync(ImportFlagsCommand command, WriteLock? everything, CancellationToken ct)
    {
        var (flags, environment, changedBy) = (command.Flags, command.Environment, command.ChangedBy);
        var now = clock.GetUtcNow();
        var errors = new Validator();
        var mutations = new List<FlagMutation>();
        int unchanged = 0;
        await using (var s = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            if (everything is not null) await s.LockAsync(everything, ct);
            else
            {
                var existing = new List<string>();
                foreach (var f in flags)
                    if (await FlagStore.FindByKeyAsync(s.Connection, s.Transaction, f.Key, ct) is { } found) existing.Add(found.Id);
                await s.LockAsync(WriteLock.Flags(existing), ct);
            }
            if (await AdmitEnvironmentAsync(s, null, new Flag { Id = "", Name = "", TargetEnvironment = environment }, "environment", ct) is FlagWriteResult.Invalid retired)
                return new ImportResult([], [], 0, retired.Errors);
            // Elsewhere: a flag whose home is another environment keeps its home; the set is imported into this environment's
            // configuration of it (issue 26), and only its variants (the definition) change for every environment
            var planned = new List<(Flag? Before, Flag After, FlagConfiguration? Elsewhere)>();
            var namesInSet = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in flags)
            {
                var v = new Validator();
                FlagRules.CheckKey(f.Key, v);
                foreach (var (field, messages) in v.Errors) foreach (var m in messages) errors.Add($"flags.{f.Key}.{field}", m);
                if (!v.IsValid) continue;

                var before = await FlagStore.FindByKeyAsync(s.Connection, s.Transaction, f.Key, ct);
                if (before is not null && !s.Holds(before.Id)) return null;
                // keys are unique across environments: an import writes the flag's definition (its variants) too, which a key
                // scoped to another environment than the flag's home may not change
                if (before is not null && !command.Actor.Sees(before.TargetEnvironment))
                    return new ImportResult([], [], 0)
                    {
                        Forbidden = $"flags.{f.Key}: the key belongs to a flag this key's environment ('{command.Actor?.Environment}') does not reach; nothing was imported.",
                    };
                var off = before is not null && f.Variants.TryGetProperty(before.OffVariant, out _) ? before.OffVariant
                    : f.Variants.TryGetProperty(FlagVariants.Off, out _) ? FlagVariants.Off : f.DefaultVariant;
                var after = before is null
                    ? new Flag
                    {
                        Id = Ids.New("flg", clock),
                        Name = await FreeNameAsync(s, f.Key, namesInSet, ct),
                        Key = f.Key,
                        CreatedAt = now,
                        UpdatedAt = now,
                        Version = 1,
                        TargetEnvironment = environment,
                    }
                    : before;
                FlagConfiguration? elsewhere = null;
                if (before is not null && before.TargetEnvironment != environment)
                {
                    var current = await LoadConfigurationAsync(s.Connection, s.Transaction, before, environment, ct);
                    elsewhere = current with
                    {
                        Enabled = f.Enabled, RolloutPercentage = 100, DefaultVariant = f.DefaultVariant, OffVariant = off, Targeting = f.Targeting,
                    };
                    after = after with { Variants = f.Variants };
                    foreach (var (path, message) in definitionCheck?.Check(FlagConfigurations.View(after, elsewhere)) ?? []) errors.Add($"flags.{f.Key}.{path}", message);
                }
                else
                    after = after with
                    {
                        Enabled = f.Enabled,
                        RolloutPercentage = 100,
                        Variants = f.Variants,
                        DefaultVariant = f.DefaultVariant,
                        OffVariant = off,
                        Targeting = f.Targeting,
                    };
                foreach (var (path, message) in definitionCheck?.Check(after) ?? []) errors.Add($"flags.{f.Key}.{path}", message);
                planned.Add((before, after, elsewhere));
            }
            if (!errors.IsValid) return new ImportResult([], [], 0, errors);

            // issue 27: an import is all or nothing across many flags, so it cannot be held for approval flag by flag; into a
            // protected environment — or rewriting the definition of a flag whose home is protected — it is refused unless
            // an admin bypasses, which every change row it writes records
            var reason = "imported";
            if (gate is not null)
            {
                var touched = planned
                    .Where(p => p.Before is not null && p.Elsewhere is not null && !SameVariants(p.Before.Variants, p.After.Variants))
                    .Select(p => p.Before!.TargetEnvironment).Prepend(environment).Distinct();
                foreach (var e in touched)
                    switch (await gate.CheckDirectAsync(s, e, command.Actor, command.Bypass, "an import", ct))
                    {
                        case ChangeGateDecision.Refused no: return new ImportResult([], [], 0) { Forbidden = no.Detail };
                        case ChangeGateDecision.Proceed { Reason: { } why }: reason = $"imported; {why}"; break;
                    }
            }

            foreach (var (before, after, elsewhere) in planned)
            {
                if (before is not null && elsewhere is not null)
                {
                    var definition = await MutateAsync(s, new FlagMutationRequest(before, after, changedBy) { Reason = reason, Actor = command.Actor }, ct);
                    var flag = definition?.After ?? before;
                    var current = await LoadConfigurationAsync(s.Connection, s.Transaction, flag, environment, ct);
                    var configuration = await MutateConfigurationAsync(s, new ConfigurationMutationRequest(flag, current,
                        elsewhere with { Version = current.Version, UpdatedAt = current.UpdatedAt }, changedBy) { Reason = reason, Actor = command.Actor }, ct);
                    if (definition is not null) mutations.Add(definition);
                    if (configuration is not null) mutations.Add(configuration);
                    if (definition is null && configuration is null) unchanged++;
                    continue;
                }
                if (before is null)
                {
                    await FlagStore.InsertAsync(s, after, ct);
                    var configurations = await ConfigureNewFlagAsync(s, after, ct);
                    var change = NewChange(after, ChangeType.Created, changedBy, command.Actor, now, null, FlagDiff.Snapshot(after), after.TargetEnvironment, reason);
                    var created = new FlagMutation(null, after, change, null) { Configurations = configurations };
                    await feed.EnlistAsync(s, created, ct);
                    mutations.Add(created);
                }
                else if (await MutateAsync(s, new FlagMutationRequest(before, after, changedBy) { Reason = reason, Actor = command.Actor }, ct) is { } m) mutations.Add(m);
                else unchanged++;
            }
            await s.CommitAsync(ct);
        }
        foreach (var m in mutations) await AfterCommitAsync(m, ct);
        return new ImportResult(
            mutations.Where(m => m.Before is null).Select(m => m.After!).ToList(),
            mutations.Where(m => m.Before is not null).Select(m => m.After!).GroupBy(f => f.Id).Select(g => g.Last()).ToList(), unchanged);
    }

    private static bool SameVariants(JsonElement? a, JsonElement? b) =>
        a is null ? b is null : b is not null && JsonElement.DeepEquals(a.Value, b.Value);

    /// <summary>A name for a new flag from its key: lower-cased, with a numeric suffix when that name is taken.</summary>
    private static async Task<string> FreeNameAsync(WriteScope s, string key, HashSet<string> namesInSet, CancellationToken ct)
    {
        var stem = key.ToLowerInvariant();
        if (stem.Length > FlagRules.MaxNameLength - 4) stem = stem[..(FlagRules.MaxNameLength - 4)];
        for (var i = 1; ; i++)
        {
            var name = i == 1 ? stem : $"{stem}-{i}";
            var v = new Validator();
            FlagRules.CheckName(name, v);
            if (v.IsValid && !namesInSet.Contains(name) && !await FlagStore.NameTakenAsync(s.Connection, s.Transaction, name, null, ct))
            {
                namesInSet.Add(name);
                return name;
            }
        }
    }
}
