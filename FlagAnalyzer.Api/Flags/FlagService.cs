using System.Text.Json;
using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Live;
using FlagAnalyzer.Api.Predictions;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Flags;

public enum Outcome { Ok, NotFound, NameTaken, Stale, Invalid }

public sealed record MutationResult(Outcome Outcome, Flag? Flag = null, FlagChange? Change = null, Prediction? Prediction = null,
    long CurrentVersion = 0, string? Detail = null, Validator? Errors = null);

/// <summary>
/// A committed or about-to-commit mutation: what to tell the cache, the live clients and the refiners once
/// the transaction is durable.
/// </summary>
public sealed record FlagMutation(Flag? Before, Flag? After, FlagChange Change, Prediction? Prediction, PredictionInput? Input);

/// <summary>
/// Every flag mutation goes through here: the flag row, its <c>flag_changes</c> row and its prediction are
/// written in one transaction; cache, live events and LLM refinement follow the commit.
/// </summary>
public sealed partial class FlagService(Db db, IFlagCache cache, PredictionService predictions, ILiveEventPublisher live, TimeProvider clock,
    IFlagDefinitionCheck? definitionCheck = null)
{
    /// <summary>
    /// Whether the flag as it would be stored can be served. A default or off variant the request did not name,
    /// missing from the variants it gave, is reported on <c>variants</c>: that is the field the caller got wrong.
    /// </summary>
    private Validator? CheckDefinition(Flag flag, JsonElement? variantsGiven, string? defaultGiven, string? offGiven)
    {
        if (definitionCheck is null) return null;
        var problems = definitionCheck.Check(flag);
        if (problems.Count == 0) return null;
        var v = new Validator();
        var gaveVariants = variantsGiven is { ValueKind: JsonValueKind.Object };
        foreach (var (path, message) in problems)
        {
            if (gaveVariants && (path == "defaultVariant" && defaultGiven is null || path == "offVariant" && offGiven is null))
                v.Add("variants", $"has no variant '{(path == "defaultVariant" ? flag.DefaultVariant : flag.OffVariant)}' for {path}; add it or set {path}");
            else v.Add(path, message);
        }
        return v;
    }

    private static async Task<string?> KeyConflictAsync(WriteScope s, Flag flag, string? exceptId, CancellationToken ct) =>
        await FlagStore.KeyTakenAsync(s.Connection, s.Transaction, flag.Key, exceptId, ct)
            ? $"A flag with key '{flag.Key}' already exists." : null;

    public async Task<MutationResult> CreateAsync(CreateFlagRequest r, string changedBy, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var flag = new Flag
        {
            Id = Ids.New("flg", clock),
            Name = r.Name!,
            Description = r.Description ?? "",
            Enabled = r.Enabled ?? false,
            RolloutPercentage = r.RolloutPercentage ?? 0,
            TargetEnvironment = r.TargetEnvironment ?? FlagEnvironments.Development,
            Owner = r.Owner ?? "",
            Tags = (r.Tags ?? []).Select(t => t.Trim()).Distinct().ToList(),
            AutoRollback = r.AutoRollback ?? false,
            Key = r.Key ?? r.Name!,
            Variants = r.Variants is { ValueKind: JsonValueKind.Object } ? r.Variants : FlagVariants.Default,
            DefaultVariant = r.DefaultVariant ?? FlagVariants.On,
            OffVariant = r.OffVariant ?? FlagVariants.Off,
            Targeting = r.Targeting is { ValueKind: JsonValueKind.Object } t && t.EnumerateObject().Any() ? t : null,
            Rules = r.Rules is { ValueKind: JsonValueKind.Array } ? r.Rules : null,
            CreatedAt = now,
            UpdatedAt = now,
            Version = 1,
        };

        FlagMutation m;
        await using (var s = await db.BeginWriteAsync(ct))
        {
            if (CheckDefinition(flag, r.Variants, r.DefaultVariant, r.OffVariant) is { } invalid) return new MutationResult(Outcome.Invalid, Errors: invalid);
            if (await FlagStore.NameTakenAsync(s.Connection, s.Transaction, flag.Name, null, ct))
                return new MutationResult(Outcome.NameTaken, Detail: $"A flag named '{flag.Name}' already exists.");
            if (await KeyConflictAsync(s, flag, null, ct) is { } taken) return new MutationResult(Outcome.NameTaken, Detail: taken);
            await FlagStore.InsertAsync(s, flag, ct);
            var change = NewChange(flag, ChangeTypes.Created, changedBy, now, null, FlagDiff.Snapshot(flag), flag.TargetEnvironment);
            await FlagStore.InsertChangeAsync(s, change, ct);
            await s.CommitAsync(ct);
            m = new FlagMutation(null, flag, change, null, null);
        }
        await AfterCommitAsync(m, ct);
        return new MutationResult(Outcome.Ok, flag, m.Change);
    }

    public async Task<MutationResult> PatchAsync(string idOrName, PatchFlagRequest p, long? ifMatch, string changedBy, CancellationToken ct)
    {
        FlagMutation? m;
        await using (var s = await db.BeginWriteAsync(ct))
        {
            var before = await FlagStore.FindAsync(s.Connection, s.Transaction, idOrName, ct);
            if (before is null) return new MutationResult(Outcome.NotFound);
            if (ifMatch is { } v && v != before.Version) return new MutationResult(Outcome.Stale, CurrentVersion: before.Version);
            if (p.Name is not null && p.Name != before.Name && await FlagStore.NameTakenAsync(s.Connection, s.Transaction, p.Name, before.Id, ct))
                return new MutationResult(Outcome.NameTaken, Detail: $"A flag named '{p.Name}' already exists.");

            var after = FlagDiff.Apply(before, p);
            if (CheckDefinition(after, p.Variants, p.DefaultVariant, p.OffVariant) is { } invalid) return new MutationResult(Outcome.Invalid, Errors: invalid);
            if (after.Key != before.Key && await KeyConflictAsync(s, after, before.Id, ct) is { } taken) return new MutationResult(Outcome.NameTaken, Detail: taken);
            m = await MutateAsync(s, before, after, null, changedBy, null, ct);
            if (m is null) return new MutationResult(Outcome.Ok, before);
            await s.CommitAsync(ct);
        }
        await AfterCommitAsync(m, ct);
        return new MutationResult(Outcome.Ok, m.After, m.Change, m.Prediction);
    }

    public async Task<MutationResult> DeleteAsync(string idOrName, long? ifMatch, string changedBy, CancellationToken ct)
    {
        FlagMutation m;
        await using (var s = await db.BeginWriteAsync(ct))
        {
            var before = await FlagStore.FindAsync(s.Connection, s.Transaction, idOrName, ct);
            if (before is null) return new MutationResult(Outcome.NotFound);
            if (ifMatch is { } v && v != before.Version) return new MutationResult(Outcome.Stale, CurrentVersion: before.Version);
            await FlagStore.DeleteAsync(s, before.Id, before.Version, ct);
            var change = NewChange(before, ChangeTypes.Deleted, changedBy, clock.GetUtcNow(), FlagDiff.Snapshot(before), null, before.TargetEnvironment);
            await FlagStore.InsertChangeAsync(s, change, ct);
            await s.CommitAsync(ct);
            m = new FlagMutation(before, null, change, null, null);
        }
        await AfterCommitAsync(m, ct);
        return new MutationResult(Outcome.Ok, m.Before, m.Change);
    }

    /// <summary>The seed's change record: brings the flag to <c>newValue</c> and logs the change as the client named it.</summary>
    public async Task<MutationResult> RecordChangeAsync(RecordChangeRequest r, PatchFlagRequest? patch, CancellationToken ct)
    {
        FlagMutation m;
        await using (var s = await db.BeginWriteAsync(ct))
        {
            var before = (r.FlagId is { Length: > 0 } id ? await FlagStore.FindAsync(s.Connection, s.Transaction, id, ct) : null)
                         ?? (r.FlagName is { Length: > 0 } name ? await FlagStore.FindAsync(s.Connection, s.Transaction, name, ct) : null);
            if (before is null) return new MutationResult(Outcome.NotFound);
            patch ??= new PatchFlagRequest(null, null, null, null, null, null, null, null, null, null, null);
            // the change type implies the switch even when newValue leaves it out
            patch = r.ChangeType switch
            {
                ChangeTypes.Enabled when patch.Enabled is null => patch with { Enabled = true },
                ChangeTypes.Disabled when patch.Enabled is null => patch with { Enabled = false },
                _ => patch,
            };
            if (patch.Name is not null && patch.Name != before.Name && await FlagStore.NameTakenAsync(s.Connection, s.Transaction, patch.Name, before.Id, ct))
                return new MutationResult(Outcome.NameTaken, Detail: $"A flag named '{patch.Name}' already exists.");

            var after = FlagDiff.Apply(before, patch);
            if (CheckDefinition(after, patch.Variants, patch.DefaultVariant, patch.OffVariant) is { } invalid)
            {
                var nested = new Validator();
                foreach (var (field, messages) in invalid.Errors) foreach (var message in messages) nested.Add($"newValue.{field}", message);
                return new MutationResult(Outcome.Invalid, Errors: nested);
            }
            if (after.Key != before.Key && await KeyConflictAsync(s, after, before.Id, ct) is { } taken) return new MutationResult(Outcome.NameTaken, Detail: taken);
            m = (await MutateAsync(s, before, after, r.ChangeType, r.ChangedBy ?? "api", null, ct,
                previous: r.PreviousValue, next: r.NewValue, environment: r.Environment, force: true))!;
            await s.CommitAsync(ct);
        }
        await AfterCommitAsync(m, ct);
        return new MutationResult(Outcome.Ok, m.After, m.Change, m.Prediction);
    }

    /// <summary>
    /// Writes <paramref name="after"/> over <paramref name="before"/> with its change row and prediction, inside
    /// the caller's transaction. Returns null when nothing changed (unless forced: a recorded change is logged
    /// even when the flag already had that state). The caller commits, then calls <see cref="AfterCommitAsync"/>.
    /// </summary>
    public async Task<FlagMutation?> MutateAsync(WriteScope s, Flag before, Flag after, string? changeType, string changedBy,
        string? reason, CancellationToken ct, JsonElement? previous = null, JsonElement? next = null, string? environment = null,
        bool force = false)
    {
        var (prevDiff, nextDiff) = FlagDiff.Changed(before, after);
        if (nextDiff.Count == 0 && !force) return null;

        var now = clock.GetUtcNow();
        var stored = nextDiff.Count == 0 ? before : after with { UpdatedAt = now, Version = before.Version + 1 };
        if (!ReferenceEquals(stored, before) && !await FlagStore.UpdateAsync(s, stored, before.Version, ct))
            throw new InvalidOperationException($"Flag {before.Id} changed inside a write transaction.");

        var change = NewChange(stored, changeType ?? FlagDiff.Classify(before, after), changedBy, now,
            Given(previous) ?? FlagDiff.ToElement(prevDiff), Given(next) ?? FlagDiff.ToElement(nextDiff),
            environment ?? stored.TargetEnvironment, reason) with { PredictionId = Ids.New("prd", clock) };
        var (prediction, input) = await predictions.PredictAsync(s, before, stored, change, ct);
        await FlagStore.InsertChangeAsync(s, change, ct);
        return new FlagMutation(before, ReferenceEquals(stored, before) ? before : stored, change, prediction, input);
    }

    /// <summary>Cache write-through, live events and refinement hand-off for a committed mutation.</summary>
    public async Task AfterCommitAsync(FlagMutation m, CancellationToken ct)
    {
        if (m.After is { } after) await cache.SetAsync(after, m.Before?.Name, ct);
        else if (m.Before is { } gone) await cache.RemoveAsync(gone, ct);

        var flagId = m.Change.FlagId;
        var flagEvent = m.Change.ChangeType switch
        {
            ChangeTypes.Created => LiveEventTypes.FlagCreated,
            ChangeTypes.Deleted => LiveEventTypes.FlagDeleted,
            _ => LiveEventTypes.FlagUpdated,
        };
        await live.PublishAsync(new LiveEvent(flagEvent, (object?)m.After ?? m.Before!, flagId), ct);
        await live.PublishAsync(new LiveEvent(LiveEventTypes.FlagChanged, m.Change, flagId), ct);
        if (m.Prediction is { } p)
        {
            await live.PublishAsync(new LiveEvent(LiveEventTypes.PredictionCreated, p, flagId), ct);
            predictions.HandOff(p, m.Input!);
        }
    }

    private static JsonElement? Given(JsonElement? e) => e is { ValueKind: JsonValueKind.Object } ? e : null;

    private FlagChange NewChange(Flag f, string type, string changedBy, DateTimeOffset now, JsonElement? previous, JsonElement? next,
        string environment, string? reason = null) => new()
    {
        Id = Ids.New("chg", clock),
        FlagId = f.Id,
        FlagName = f.Name,
        ChangeType = type,
        PreviousValue = previous,
        NewValue = next,
        ChangedBy = changedBy,
        Environment = environment,
        Timestamp = now,
        Reason = reason,
    };
}
