using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Serverless.Functions.Limits;

namespace Serverless.Functions.Http;

/// <summary>
/// The client address the per-address limits count, taken only from what a client cannot choose (docs/reliability.md,
/// "Which address is the client's"). Under the Functions host the function never sees a client's <c>X-Forwarded-For</c>:
/// the host's forwarder replaces it with the peer it saw, and the worker's forwarded-headers middleware moves that one
/// entry into <c>Connection.RemoteIpAddress</c> and removes the header. So by default (<see cref="ClientAddressSource.Connection"/>)
/// that address is the client's and every header is ignored. Behind our Front Door profile the connection is one of Front
/// Door's edge addresses, shared by strangers, and the client's is <c>X-Azure-SocketIP</c>, the TCP peer Front Door saw
/// (<c>X-Azure-ClientIP</c> follows what the client sends, so a client could pick its own bucket with it). That header is
/// believed only on a request carrying our profile's <c>X-Azure-FDID</c>: anything else counts under its connection.
/// IPv6 addresses count by their /64 prefix, which one subscriber typically holds whole.
/// </summary>
public sealed class ClientAddresses(AbuseLimits limits)
{
    public const string FrontDoorIdHeader = "X-Azure-FDID";
    public const string FrontDoorClientHeader = "X-Azure-SocketIP";

    public string Of(HttpRequest request)
    {
        if (limits.ClientAddress == ClientAddressSource.FrontDoor && limits.FrontDoorId is { } frontDoor
            && request.Headers[FrontDoorIdHeader] is [var id] && frontDoor.Matches(id)
            && request.Headers[FrontDoorClientHeader] is [var sent] && PlainAddress(sent) is { } client)
        {
            return Normalize(client);
        }

        return request.HttpContext.Connection.RemoteIpAddress is { } address ? Normalize(address) : "unknown";
    }

    // One address as Front Door writes it, nothing else: no list, no port, no brackets, no zone, no shorthand such as "1"
    // (which IPAddress.TryParse reads as 0.0.0.1).
    private static IPAddress? PlainAddress(string? text) =>
        IPAddress.TryParse(text, out var address)
        && (address.AddressFamily == AddressFamily.InterNetwork ? address.ToString() == text : text!.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.'))
            ? address
            : null;

    private static string Normalize(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
