using FlagAnalyzer.Api.Common;
using FlagAnalyzer.Api.Flags;
using FlagAnalyzer.Api.Statistics;
using FlagAnalyzer.Api.Storage;

namespace FlagAnalyzer.Api.Anomalies;

/// <summary>Acknowledge an open anomaly in the name of <see cref="AcknowledgedBy"/>.</summary>
public sealed record AcknowledgeAnomalyCommand(string Id, string AcknowledgedBy)
{
    /// <summary>Who called (recorded as actorKeyId/actorName).</summary>
    public Actor? Actor { get; init; }
}

public abstract record AcknowledgeResult
{
    private AcknowledgeResult() { }

    /// <summary>Acknowledged now, or already acknowledged (idempotent).</summary>
    public sealed record Acknowledged(Anomaly Anomaly) : AcknowledgeResult;
    public sealed record NotFound : AcknowledgeResult;
    public sealed record AlreadyResolved : AcknowledgeResult;
}

/// <summary>Run detection now for one flag (id or name) or, when <see cref="FlagIdOrName"/> is null, for every flag.</summary>
public sealed record AnalyzeCommand(string? FlagIdOrName)
{
    /// <summary>Who asked: a key scoped to an environment analyzes only that environment's flags (<see cref="FlagScope"/>).</summary>
    public Actor? Actor { get; init; }

    /// <summary>The environment analysed (issue 26); null: each flag's home.</summary>
    public string? Environment { get; init; }
}

public abstract record AnalyzeResult
{
    private AnalyzeResult() { }

    public sealed record Analyzed(AnalyzeResponse Response) : AnalyzeResult;
    public sealed record FlagNotFound(string Key) : AnalyzeResult;
}

/// <summary>The anomaly write use cases: acknowledge, and analyze on demand (detection, anomalies and rollbacks in one transaction).</summary>
public sealed class AnomalyService(Db db, StatisticalAnomalyMonitor monitor, AnomalyEvents events, TimeProvider clock)
{
    public async Task<AcknowledgeResult> AcknowledgeAsync(AcknowledgeAnomalyCommand command, CancellationToken ct)
    {
        // an anomaly changes under its flag's lock (detection resolves it there): lock the flag, then read it again
        await using var scope = await db.BeginWriteAsync(WriteLock.None, ct);
        var seen = await AnomalyStore.GetAsync(scope.Connection, scope.Transaction, command.Id, ct);
        if (seen is null) return new AcknowledgeResult.NotFound();
        await scope.LockAsync(WriteLock.Flag(seen.FlagId), ct);
        var a = await AnomalyStore.GetAsync(scope.Connection, scope.Transaction, command.Id, ct);
        if (a is null) return new AcknowledgeResult.NotFound();
        if (a.Status == AnomalyStatus.Resolved) return new AcknowledgeResult.AlreadyResolved();
        if (a.Status == AnomalyStatus.Acknowledged) return new AcknowledgeResult.Acknowledged(a);
        var acked = a with
        {
            Status = AnomalyStatus.Acknowledged,
            AcknowledgedAt = clock.GetUtcNow(),
            AcknowledgedBy = command.AcknowledgedBy,
            ActorKeyId = command.Actor?.KeyId,
            ActorName = command.Actor?.Name,
        };
        await AnomalyStore.UpdateAsync(scope.Connection, scope.Transaction, acked, ct);
        await scope.CommitAsync(ct);
        return new AcknowledgeResult.Acknowledged(acked);
    }

    public async Task<AnalyzeResult> AnalyzeAsync(AnalyzeCommand command, CancellationToken ct)
    {
        DetectionRun run;
        await using (var scope = await db.BeginWriteAsync(WriteLock.None, ct))
        {
            List<FlagInEnvironment> pairs;
            if (command.FlagIdOrName is { } key)
            {
                var flag = await FlagStore.FindForWriteAsync(scope, key, ct);
                if (flag is null || !command.Actor.Sees(command.Environment ?? flag.TargetEnvironment)) return new AnalyzeResult.FlagNotFound(key);
                pairs = [new FlagInEnvironment(flag.Id, command.Environment ?? flag.TargetEnvironment)];
            }
            else
            {
                var ids = await FlagQueries.IdsByNameAsync(scope.Connection, scope.Transaction, ct);
                pairs = new List<FlagInEnvironment>(ids.Count);
                foreach (var id in ids)
                {
                    // the named environment of every flag needs no read; each flag's home does
                    var environment = command.Environment
                        ?? (await FlagStore.FindAsync(scope.Connection, scope.Transaction, id, ct))?.TargetEnvironment;
                    if (environment is not null && command.Actor.Sees(environment)) pairs.Add(new FlagInEnvironment(id, environment));
                }
                // one pass over many flags holds all their locks, taken in one order (a flag created since is not analyzed)
                await scope.LockAsync(WriteLock.Flags(pairs.Select(p => p.FlagId)), ct);
            }
            run = await monitor.RunAsync(scope, pairs, ct);
            await scope.CommitAsync(ct);
        }
        await events.PublishAsync(run.Outcome, ct);
        return new AnalyzeResult.Analyzed(new AnalyzeResponse(clock.GetUtcNow(), run.Reports, run.Outcome.Detected, run.Outcome.Resolved,
            run.Outcome.Rollbacks.Where(r => r.Mutation is not null).Select(r => r.Mutation!.Change).ToList()));
    }
}
