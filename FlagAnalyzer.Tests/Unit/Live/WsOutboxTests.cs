using FlagAnalyzer.Api.Live.Ws;

namespace FlagAnalyzer.Tests.Unit.Live;

public sealed class WsOutboxTests
{
    [Fact]
    public void OverTheByteCap_DropsTheOldest()
    {
        var outbox = new WsOutbox(maxBytes: 100, maxMessages: 100);
        Assert.Equal(0, outbox.Enqueue(new byte[40]));
        Assert.Equal(0, outbox.Enqueue(new byte[40]));
        Assert.Equal(1, outbox.Enqueue(new byte[40]));

        Assert.Equal((2, 80L), (outbox.Count, outbox.QueuedBytes));
    }

    [Fact]
    public void OverTheMessageCap_DropsTheOldest()
    {
        var outbox = new WsOutbox(maxBytes: 1000, maxMessages: 2);
        outbox.Enqueue([1]);
        outbox.Enqueue([2]);
        Assert.Equal(1, outbox.Enqueue([3]));
        Assert.Equal(2, outbox.Count);
    }

    [Fact]
    public void AMessageLargerThanTheCap_IsNotQueued_AndKeepsTheRest()
    {
        var outbox = new WsOutbox(maxBytes: 100, maxMessages: 100);
        outbox.Enqueue(new byte[10]);
        Assert.Equal(1, outbox.Enqueue(new byte[101]));
        Assert.Equal((1, 10L), (outbox.Count, outbox.QueuedBytes));
    }

    [Fact]
    public async Task TakesInOrder_ThenCompleteReleasesEverythingAndEndsTheWriter()
    {
        var outbox = new WsOutbox(maxBytes: 1000, maxMessages: 100);
        outbox.Enqueue([1]);
        outbox.Enqueue([2]);
        outbox.Enqueue([3]);
        Assert.Equal([1], await outbox.TakeAsync(CancellationToken.None));

        outbox.Complete();
        Assert.Equal((0, 0L), (outbox.Count, outbox.QueuedBytes));
        Assert.Null(await outbox.TakeAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, outbox.Enqueue([4]));
        Assert.Equal(0, outbox.Count);
    }
}
