// Flex Consumption plan and the API's function app (dotnet-isolated 10.0), deployed by azd as service "api".
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param signingKeyUri string
param identifierHashKeyUri string

@description('Versioned URI of the signing key before the last rotation, or empty.')
param previousSigningKeyUri string = ''
param totpKeyUri string
param previousTotpKeyUri string = ''

@description('Azure Communication Services endpoint the app sends mail through (keyless).')
param mailEndpoint string

@description('The address mails come from: the Azure-managed domain\'s DoNotReply sender.')
param mailSenderAddress string

@description('The page\'s origin: links in mails point there.')
param pageOrigin string

@description('The passkeys\' relying-party id: the page\'s host name (the Static Web App\'s default host name). Passkeys are bound to it.')
param passkeyRelyingPartyId string

@secure()
@description('The Front Door profile\'s id (X-Azure-FDID) when the app runs behind one, or empty: then the client address is the connection\'s.')
param frontDoorId string = ''

@description('Origins allowed to call the API from a browser. Never \'*\'.')
param allowedOrigins array

param maximumInstanceCount int = 100
param instanceMemoryMB int = 2048

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      cors: {
        allowedOrigins: allowedOrigins
        supportCredentials: false
      }
    }
  }

  // Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION:
  // functionAppConfig.runtime above carries that information.
  resource appSettings 'config' = {
    name: 'appsettings'
    properties: {
      AzureWebJobsStorage__accountName: storage.name
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      Tables__tableServiceUri: storage.properties.primaryEndpoints.table
      Tables__credential: 'managedidentity'
      Tables__clientId: identityClientId
      // DefaultAzureCredential in the worker picks the user-assigned identity from this.
      AZURE_CLIENT_ID: identityClientId
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
      Auth__SigningKey: '@Microsoft.KeyVault(SecretUri=${signingKeyUri})'
      // Empty outside a rotation; the app then accepts the current key only.
      Auth__PreviousSigningKey: empty(previousSigningKeyUri) ? '' : '@Microsoft.KeyVault(SecretUri=${previousSigningKeyUri})'
      Auth__TotpSecretKey: '@Microsoft.KeyVault(SecretUri=${totpKeyUri})'
      Auth__PreviousTotpSecretKey: empty(previousTotpKeyUri) ? '' : '@Microsoft.KeyVault(SecretUri=${previousTotpKeyUri})'
      Auth__IdentifierHashKey: '@Microsoft.KeyVault(SecretUri=${identifierHashKeyUri})'
      Auth__Issuer: 'https://${functionApp.properties.defaultHostName}'
      Auth__Audience: 'https://${functionApp.properties.defaultHostName}/api'
      // The expired-rows cleanup (Cleanup/CleanupFunction.cs): six-field cron, hourly. The timer keeps its schedule
      // monitor and its singleton lease in host storage (AzureWebJobsStorage, blobs), which the identity's
      // Storage Blob Data Owner role already covers.
      Cleanup__Schedule: '0 0 * * * *'
      // The purge recovery (Deletion/PurgeRecoveryFunction.cs): hourly at half past, so it does not start with the cleanup.
      Purge__RecoverySchedule: '0 30 * * * *'
      Mail__Acs__Endpoint: mailEndpoint
      Mail__Acs__ClientId: identityClientId
      Mail__SenderAddress: mailSenderAddress
      Mail__PageOrigin: pageOrigin
      MailOutboxSchedule: '0 */1 * * * *'
      // Passkeys (WebAuthn) are bound to the page's host name and accepted only from the page's origin.
      Passkeys__RelyingPartyId: passkeyRelyingPartyId
      Passkeys__RelyingPartyName: 'Serverless'
      Passkeys__Origins: 'https://${passkeyRelyingPartyId}'
      // Where the per-address limits take the client's address from (Functions/Http/ClientAddresses.cs): the connection
      // as the platform delivers it, or behind our Front Door profile the address Front Door saw. Empty id = no Front Door.
      Limits__ClientAddress: empty(frontDoorId) ? 'connection' : 'front-door'
      Limits__FrontDoorId: frontDoorId
    }
  }

  // Deployments go through Entra ID (azd uses a bearer token), never publishing passwords.
  resource ftpPublishing 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }

  resource scmPublishing 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
