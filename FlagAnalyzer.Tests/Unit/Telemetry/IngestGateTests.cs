using FlagAnalyzer.Api.Telemetry;

namespace FlagAnalyzer.Tests.Unit.Telemetry;

public sealed class IngestGateTests
{
    [Fact]
    public async Task BeyondRunningPlusQueued_IsRefusedAtOnce_AndAFreedSlotAdmitsTheNext()
    {
        var gate = new IngestGate(maxConcurrent: 1, maxQueued: 1);

        Assert.True(await gate.TryEnterAsync(CancellationToken.None));   // runs
        var queued = gate.TryEnterAsync(CancellationToken.None).AsTask(); // waits
        Assert.False(queued.IsCompleted);
        Assert.False(await gate.TryEnterAsync(CancellationToken.None));  // refused: one running, one waiting
        Assert.Equal(2, gate.Admitted);

        gate.Exit();
        Assert.True(await queued);
        gate.Exit();
        Assert.Equal(0, gate.Admitted);
    }

    [Fact]
    public async Task ACancelledWaiter_GivesBackItsPlaceInTheQueue()
    {
        var gate = new IngestGate(maxConcurrent: 1, maxQueued: 1);
        Assert.True(await gate.TryEnterAsync(CancellationToken.None));
        using var cts = new CancellationTokenSource();
        var waiting = gate.TryEnterAsync(cts.Token).AsTask();

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(1, gate.Admitted);
    }
}
