using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Serverless.Functions.Limits;

namespace Serverless.Functions.Http;

/// <summary>
/// The client's address as far as it can be trusted. Each proxy appends the address it was connected from to
/// <c>X-Forwarded-For</c>, so only the right-most <see cref="AbuseLimits.TrustedProxies"/> entries were written by
/// proxies we run behind (in Azure Functions, the platform's front end appends the last one); everything left of them
/// is whatever the client sent. IPv6 addresses count by their /64 prefix, which one subscriber typically holds whole.
/// </summary>
public sealed class ClientAddresses(AbuseLimits limits)
{
    public const string ForwardedFor = "X-Forwarded-For";

    public string Of(HttpRequest request)
    {
        if (limits.TrustedProxies > 0)
        {
            var entries = request.Headers[ForwardedFor].SelectMany(value => (value ?? "").Split(','))
                .Select(entry => entry.Trim()).Where(entry => entry.Length > 0).ToList();
            if (entries.Count > 0)
            {
                return Normalize(entries[Math.Max(0, entries.Count - limits.TrustedProxies)]);
            }
        }

        return request.HttpContext.Connection.RemoteIpAddress is { } address ? Normalize(address) : "unknown";
    }

    private static string Normalize(string entry)
    {
        // "203.0.113.7:51234" and "[2001:db8::1]:443" carry a port; a bare IPv6 address has colons of its own.
        var host = entry.StartsWith('[') && entry.IndexOf(']', StringComparison.Ordinal) is > 0 and var close ? entry[1..close]
            : entry.Count(c => c == ':') == 1 ? entry[..entry.IndexOf(':', StringComparison.Ordinal)]
            : entry;
        return IPAddress.TryParse(host, out var address) ? Normalize(address) : "unparsed";
    }

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
