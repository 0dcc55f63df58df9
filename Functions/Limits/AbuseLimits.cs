using System.Globalization;
using Microsoft.Extensions.Configuration;
using Serverless.Functions.Accounts;

namespace Serverless.Functions.Limits;

/// <summary>
/// The <c>Limits</c> settings (docs/api.md, "Abuse limits"), read and checked once at start-up: how many password hashes one
/// instance runs at once (and how many requests may wait how long for one), and how many signups and failed logins one client address gets per hour.
/// </summary>
public sealed record AbuseLimits
{
    public const string Section = "Limits";
    public static readonly TimeSpan ClientWindow = TimeSpan.FromHours(1);

    /// <summary>The share of the instance's memory that hashes in flight may take; the rest is the host's, the worker's and the requests'.</summary>
    public const double HashMemoryShare = 0.25;

    /// <summary>
    /// Hashes in flight per processor beyond which more only wait for the CPU: each then takes longer, and so does every
    /// other request on the instance, until storage calls time out (seen on the 2-core test machine with 50 at once).
    /// </summary>
    public const int HashesPerProcessor = 4;

    public int MaxHashesInFlight { get; init; } = 1;

    /// <summary>Requests that may wait for a hash slot (<see cref="HashSlots"/>) beyond the cap; by default 4 times the cap.</summary>
    public int HashQueueLength { get; init; } = 4;

    /// <summary>How long a request waits for a hash slot before it is answered 503 with Retry-After.</summary>
    public TimeSpan HashQueueWait { get; init; } = TimeSpan.FromMilliseconds(2000);

    public const int HashQueuePerSlot = 4;
    public int SignupsPerClientPerHour { get; init; } = 20;
    public int FailedLoginsPerClientPerHour { get; init; } = 50;

    /// <summary>Anonymous passkey ceremonies (sign-in and signup options), each of which stores a challenge.</summary>
    public int PasskeyCeremoniesPerClientPerHour { get; init; } = 100;

    /// <summary>
    /// Where the client address the per-address limits count comes from (<see cref="Http.ClientAddresses"/>): the
    /// connection's address as the Functions host and the worker deliver it (the default), or behind our own Front Door profile
    /// the address Front Door saw.
    /// </summary>
    public ClientAddressSource ClientAddress { get; init; } = ClientAddressSource.Connection;

    /// <summary>The Front Door profile's id; set exactly when <see cref="ClientAddress"/> is <see cref="ClientAddressSource.FrontDoor"/>.</summary>
    public FrontDoorId? FrontDoorId { get; init; }

    public static AbuseLimits FromConfiguration(IConfiguration configuration, AuthOptions auth)
    {
        var section = configuration.GetSection(Section);
        var hashes = Integer(section, "MaxHashesInFlight", DefaultHashCapacity(auth.Argon2), 1, 10_000);
        return new AbuseLimits
        {
            MaxHashesInFlight = hashes,
            HashQueueLength = Integer(section, "HashQueueLength", hashes * HashQueuePerSlot, 0, 100_000),
            HashQueueWait = TimeSpan.FromMilliseconds(Integer(section, "HashQueueWaitMilliseconds", 2000, 1, 60_000)),
            SignupsPerClientPerHour = Integer(section, "SignupsPerClientPerHour", 20, 1, 1_000_000),
            FailedLoginsPerClientPerHour = Integer(section, "FailedLoginsPerClientPerHour", 50, 1, 1_000_000),
            PasskeyCeremoniesPerClientPerHour = Integer(section, "PasskeyCeremoniesPerClientPerHour", 100, 1, 1_000_000),
            ClientAddress = Source(section),
            FrontDoorId = FrontDoor(section),
        };
    }

    /// <summary>
    /// Hashes in flight that fit in <see cref="HashMemoryShare"/> of the instance's memory, each taking the Argon2id cost's
    /// memory (19 MiB by default): 26 on a 2,048 MB Flex Consumption instance, 53 on a 4,096 MB one (docs/performance.md).
    /// </summary>
    public static int DefaultHashCapacity(Argon2Settings argon2) =>
        Math.Min(HashCapacity(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, argon2), Environment.ProcessorCount * HashesPerProcessor);

    public static int HashCapacity(long availableMemoryBytes, Argon2Settings argon2) =>
        (int)Math.Clamp(availableMemoryBytes * HashMemoryShare / (argon2.MemoryKiB * 1024L), 1, 10_000);

    private static ClientAddressSource Source(IConfigurationSection section) => section[nameof(ClientAddress)] switch
    {
        null or "connection" => ClientAddressSource.Connection,
        "front-door" => ClientAddressSource.FrontDoor,
        _ => throw new InvalidOperationException($"Setting '{Section}__{nameof(ClientAddress)}' must be 'connection' (the default) or 'front-door'."),
    };

    // Required with front-door, refused without it: an id set while the mode is connection would be silently ignored.
    // Empty counts as unset, as Bicep writes it when there is no Front Door.
    private static FrontDoorId? FrontDoor(IConfigurationSection section)
    {
        var text = section[nameof(FrontDoorId)];
        var frontDoor = Source(section) == ClientAddressSource.FrontDoor;
        if (string.IsNullOrWhiteSpace(text))
        {
            return frontDoor
                ? throw new InvalidOperationException($"Setting '{Section}__{nameof(FrontDoorId)}' is required when '{Section}__{nameof(ClientAddress)}' is 'front-door': the profile's id (X-Azure-FDID), a GUID.")
                : null;
        }

        if (!frontDoor)
        {
            throw new InvalidOperationException($"Setting '{Section}__{nameof(FrontDoorId)}' is set but '{Section}__{nameof(ClientAddress)}' is not 'front-door': set both or neither.");
        }

        return Limits.FrontDoorId.TryParse(text)
            ?? throw new InvalidOperationException($"Setting '{Section}__{nameof(FrontDoorId)}' must be the Front Door profile's id (X-Azure-FDID), a GUID such as 55ce4ed1-4b06-4bf1-b40e-4638452104da.");
    }

    private static int Integer(IConfigurationSection section, string name, int fallback, int min, int max)
    {
        var text = section[name];
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new InvalidOperationException($"Setting '{Section}__{name}' must be a whole number from {min} to {max}.");
        }

        return value;
    }
}

/// <summary>The values of <c>Limits:ClientAddress</c>.</summary>
public enum ClientAddressSource
{
    /// <summary><c>connection</c>: <c>HttpContext.Connection.RemoteIpAddress</c>; every header is ignored.</summary>
    Connection,

    /// <summary><c>front-door</c>: <c>X-Azure-SocketIP</c> on requests that carry our profile's <c>X-Azure-FDID</c>, else as <see cref="Connection"/>.</summary>
    FrontDoor,
}
