// Mail in Azure: an Email Communication Service with an Azure-managed domain (DoNotReply@<guid>.azurecomm.net), linked
// to a Communication Services resource that the function app calls with its managed identity (no access key is used
// or handed out), and the narrowest role that lets that identity send.
param communicationName string
param emailName string
param tags object
param principalId string

@description('Where the services keep their data at rest.')
param dataLocation string = 'United States'

resource email 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: emailName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }

  resource managedDomain 'domains' = {
    name: 'AzureManagedDomain'
    location: 'global'
    tags: tags
    properties: {
      domainManagement: 'AzureManaged'
      userEngagementTracking: 'Disabled'
    }
  }
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: communicationName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    linkedDomains: [
      email::managedDomain.id
    ]
  }
}

// No built-in role is narrower than "Communication and Email Service Owner" (which can also change and delete the
// services): this custom role holds only what sending through emails:send with an Entra token needs, and is assigned on
// the one Communication Services resource.
resource senderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'communication-email-sender')
  properties: {
    roleName: 'Communication Email Sender (${resourceGroup().name})'
    description: 'Send mail through Azure Communication Services Email; nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Communication/CommunicationServices/Read'
          'Microsoft.Communication/EmailServices/write'
        ]
        notActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource senderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communication.id, principalId, senderRole.id)
  scope: communication
  properties: {
    roleDefinitionId: senderRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output endpoint string = 'https://${communication.properties.hostName}'
output senderAddress string = 'DoNotReply@${email::managedDomain.properties.mailFromSenderDomain}'
output name string = communication.name
