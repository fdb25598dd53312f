namespace FlagAnalyzer.Api.Telemetry;

/// <summary>
/// Bounds the exports in flight: <c>maxConcurrent</c> are decoded at once, up to <c>maxQueued</c> more wait, and
/// any beyond are refused at once (the caller answers 429), before their bodies are read — so memory stays bounded
/// however hard the exporters push.
/// </summary>
public sealed class IngestGate(int maxConcurrent, int maxQueued)
{
    private readonly SemaphoreSlim _slots = new(maxConcurrent, maxConcurrent);
    private int _admitted;

    /// <summary>Exports admitted (running or queued).</summary>
    public int Admitted => Volatile.Read(ref _admitted);

    public async ValueTask<bool> TryEnterAsync(CancellationToken ct)
    {
        if (Interlocked.Increment(ref _admitted) > maxConcurrent + maxQueued)
        {
            Interlocked.Decrement(ref _admitted);
            return false;
        }
        try
        {
            await _slots.WaitAsync(ct);
            return true;
        }
        catch
        {
            Interlocked.Decrement(ref _admitted);
            throw;
        }
    }

    public void Exit()
    {
        _slots.Release();
        Interlocked.Decrement(ref _admitted);
    }

    /// <summary>Runs one export inside the gate; beyond it, the OTLP answer to retry later (429), without running it.</summary>
    public async Task<IntakeResult> RunAsync<TState>(TState state, Func<TState, CancellationToken, Task<IntakeResult>> export, CancellationToken ct)
    {
        if (!await TryEnterAsync(ct))
            return new IntakeResult(StatusCodes.Status429TooManyRequests, "Too many exports in flight; retry later.", RetryAfter: TimeSpan.FromSeconds(1));
        try
        {
            return await export(state, ct);
        }
        finally
        {
            Exit();
        }
    }
}
