using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Serverless.Functions.Mail;

public static class MailRegistration
{
    public static IServiceCollection AddMail(this IServiceCollection services, IConfiguration configuration)
    {
        var options = MailOptions.FromConfiguration(configuration);
        services.AddSingleton(options);
        if (options.Acs is { } acs)
        {
            // Keyless: the function app's managed identity. One HttpClient for the process, with the 5-second bound.
            services.TryAddSingleton<TokenCredential>(new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = acs.ClientId }));
            services.TryAddSingleton<IMailSender>(provider => new AcsMailSender(
                options, provider.GetRequiredService<TokenCredential>(), new HttpClient { Timeout = TimeSpan.FromSeconds(10) }));
        }
        else
        {
            services.TryAddSingleton<IMailSender, SmtpMailSender>();
        }

        services.AddSingleton<MailContent>();
        services.AddSingleton<MailStore>();
        services.AddSingleton<OutboxStore>();
        services.AddSingleton<MailDelivery>();
        services.AddSingleton<MailService>();
        return services;
    }
}
