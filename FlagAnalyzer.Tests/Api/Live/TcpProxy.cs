using System.Net;
using System.Net.Sockets;

namespace FlagAnalyzer.Tests.Api.Live;

/// <summary>A loopback TCP relay in front of the API whose connections a test can cut, as a network blip would.</summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly List<Socket> _open = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public static TcpProxy Start(int targetPort) => new(targetPort);

    public Uri Uri => new($"http://127.0.0.1:{Port}");

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>A severed link: every relayed connection is reset, and new ones are closed as soon as they are accepted.</summary>
    public void Cut()
    {
        Volatile.Write(ref _cut, true);
        DropAll();
    }

    private bool _cut;

    /// <summary>Resets every relayed connection; new ones are still accepted.</summary>
    public void DropAll()
    {
        lock (_open)
        {
            foreach (var s in _open)
            {
                s.LingerState = new LingerOption(true, 0);
                s.Close();
            }
            _open.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            if (Volatile.Read(ref _cut))
            {
                client.LingerState = new LingerOption(true, 0);
                client.Close();
                continue;
            }
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await server.ConnectAsync(IPAddress.Loopback, _targetPort);
            lock (_open)
            {
                _open.AddRange([client, server]);
                // cut while this one was being connected: DropAll has run, or runs after us and sees it
                if (Volatile.Read(ref _cut)) DropAll();
            }
            _ = RelayAsync(client, server);
            _ = RelayAsync(server, client);
        }
    }

    private static async Task RelayAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0) break;
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        try
        {
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        DropAll();
        await _accepting;
        _stop.Dispose();
    }
}
