// Generated from the hand-written fixtures in ../shared/xero/fixtures (see their README): byte-exact copies.
// Multi-line raw strings: the text between the delimiters is the file's bytes.

enum Fixtures {
    static let connectionsGet = #"""
[
  {
    "id": "e1d5c3a0-4b2f-4f7e-9a61-3c8d2b7f0e14",
    "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d",
    "tenantId": "b8f3a2c1-6d4e-4f90-a1b7-3c5e9d0f2a64",
    "tenantType": "ORGANISATION",
    "tenantName": "Harbour Hardware Ltd",
    "createdDateUtc": "2026-03-14T02:11:09.0030000",
    "updatedDateUtc": "2026-07-22T01:29:47.5518210"
  },
  {
    "id": "72a0f6d9-c8e1-4b35-9f2a-6d4b1e0c3f87",
    "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d",
    "tenantId": "0f4c7b2e-91a3-4d58-b6e0-2a9d8c1f5e36",
    "tenantType": "ORGANISATION",
    "tenantName": "Harbour Hardware (AU) Pty Ltd",
    "createdDateUtc": "2026-07-22T01:29:47.5490050",
    "updatedDateUtc": "2026-07-22T01:29:47.5490050"
  }
]
"""# + "\n"

    static let contactsGetPage1 = #"""
{
  "Id": "7c1e9a52-4d3b-4f0e-8a6c-2b9d1e5f7a30",
  "Status": "OK",
  "ProviderName": "Acme Field Sync",
  "DateTimeUTC": "\/Date(1784683865412)\/",
  "pagination": {
    "page": 1,
    "pageSize": 100,
    "pageCount": 1,
    "itemCount": 5
  },
  "Contacts": [
    {
      "ContactID": "5f3a8c1e-2b7d-4e0a-9c6f-1d2e3f4a5b6c",
      "ContactNumber": "CUST-0042",
      "AccountNumber": "HV-1001",
      "ContactStatus": "ACTIVE",
      "Name": "Harbour View Cafe Ltd",
      "FirstName": "Aroha",
      "LastName": "Ngata",
      "CompanyNumber": "9429041234567",
      "EmailAddress": "accounts@harbourviewcafe.co.nz",
      "BankAccountDetails": "",
      "TaxNumber": "123-456-789",
      "AccountsReceivableTaxType": "OUTPUT2",
      "Addresses": [
        {
          "AddressType": "POBOX",
          "AddressLine1": "PO Box 5123",
          "AddressLine2": "Lambton Quay",
          "AddressLine3": "",
          "AddressLine4": "",
          "City": "Wellington",
          "Region": "Wellington",
          "PostalCode": "6140",
          "Country": "New Zealand",
          "AttentionTo": "Accounts Payable"
        },
        {
          "AddressType": "STREET",
          "AddressLine1": "12 Oriental Parade",
          "AddressLine2": "Ground Floor",
          "AddressLine3": "",
          "AddressLine4": "",
          "City": "Wellington",
          "Region": "Wellington",
          "PostalCode": "6011",
          "Country": "New Zealand",
          "AttentionTo": "Aroha Ngata"
        }
      ],
      "Phones": [
        {
          "PhoneType": "DEFAULT",
          "PhoneNumber": "384 9921",
          "PhoneAreaCode": "04",
          "PhoneCountryCode": "64"
        },
        {
          "PhoneType": "DDI",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "FAX",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "MOBILE",
          "PhoneNumber": "555 0192",
          "PhoneAreaCode": "021",
          "PhoneCountryCode": "64"
        }
      ],
      "UpdatedDateUTC": "\/Date(1784517247123+0000)\/",
      "ContactGroups": [],
      "IsSupplier": false,
      "IsCustomer": true,
      "SalesDefaultLineAmountType": "EXCLUSIVE",
      "PurchasesDefaultLineAmountType": "EXCLUSIVE",
      "PaymentTerms": {
        "Sales": {
          "Day": 20,
          "Type": "DAYSAFTERBILLDATE"
        }
      },
      "Balances": {
        "AccountsReceivable": {
          "Outstanding": 1150.00,
          "Overdue": 0.00
        },
        "AccountsPayable": {
          "Outstanding": 0.00,
          "Overdue": 0.00
        }
      },
      "ContactPersons": [
        {
          "FirstName": "Tom",
          "LastName": "Reid",
          "EmailAddress": "tom@harbourviewcafe.co.nz",
          "IncludeInEmails": true
        }
      ],
      "HasAttachments": false,
      "HasValidationErrors": false
    },
    {
      "ContactID": "0c9e4d2a-7f61-4b8e-a3d5-6e2f1b7c8d90",
      "ContactStatus": "ACTIVE",
      "Name": "Kauri Timber Supplies",
      "EmailAddress": "orders@kauritimber.co.nz",
      "BankAccountDetails": "12-3140-0123456-00",
      "AccountsPayableTaxType": "INPUT2",
      "Addresses": [
        {
          "AddressType": "STREET",
          "City": "",
          "Region": "",
          "PostalCode": "",
          "Country": ""
        },
        {
          "AddressType": "POBOX",
          "AddressLine1": "14 Industrial Way",
          "AddressLine2": "",
          "AddressLine3": "",
          "AddressLine4": "",
          "City": "Whangarei",
          "Region": "Northland",
          "PostalCode": "0110",
          "Country": "New Zealand"
        }
      ],
      "Phones": [
        {
          "PhoneType": "DEFAULT",
          "PhoneNumber": "430 1188",
          "PhoneAreaCode": "09",
          "PhoneCountryCode": "64"
        },
        {
          "PhoneType": "DDI",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "FAX",
          "PhoneNumber": "430 1189",
          "PhoneAreaCode": "09",
          "PhoneCountryCode": "64"
        },
        {
          "PhoneType": "MOBILE",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        }
      ],
      "UpdatedDateUTC": "\/Date(1780436710557+0000)\/",
      "ContactGroups": [
        {
          "ContactGroupID": "3d7f1a9b-8c2e-4b5d-a6f0-9e1c2b3d4a5f",
          "Name": "Preferred Suppliers",
          "Status": "ACTIVE",
          "Contacts": [],
          "HasValidationErrors": false
        }
      ],
      "IsSupplier": true,
      "IsCustomer": false,
      "SalesDefaultLineAmountType": "INCLUSIVE",
      "PurchasesDefaultLineAmountType": "EXCLUSIVE",
      "PaymentTerms": {
        "Bills": {
          "Day": 20,
          "Type": "OFFOLLOWINGMONTH"
        }
      },
      "Balances": {
        "AccountsReceivable": {
          "Outstanding": 0.00,
          "Overdue": 0.00
        },
        "AccountsPayable": {
          "Outstanding": 2875.50,
          "Overdue": 412.00
        }
      },
      "ContactPersons": [],
      "HasAttachments": true,
      "HasValidationErrors": false
    },
    {
      "ContactID": "9b2d6e41-5a7c-4c38-b1f2-8d0e3a6c7b95",
      "ContactStatus": "ARCHIVED",
      "Name": "Old Mill Bakery",
      "EmailAddress": "",
      "BankAccountDetails": "",
      "Addresses": [
        {
          "AddressType": "STREET",
          "City": "",
          "Region": "",
          "PostalCode": "",
          "Country": ""
        },
        {
          "AddressType": "POBOX",
          "City": "",
          "Region": "",
          "PostalCode": "",
          "Country": ""
        }
      ],
      "Phones": [
        {
          "PhoneType": "DEFAULT",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "DDI",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "FAX",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "MOBILE",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        }
      ],
      "UpdatedDateUTC": "\/Date(1762197644310+0000)\/",
      "ContactGroups": [],
      "IsSupplier": false,
      "IsCustomer": true,
      "SalesDefaultLineAmountType": "INCLUSIVE",
      "PurchasesDefaultLineAmountType": "INCLUSIVE",
      "Balances": {
        "AccountsReceivable": {
          "Outstanding": 0.00,
          "Overdue": 0.00
        },
        "AccountsPayable": {
          "Outstanding": 0.00,
          "Overdue": 0.00
        }
      },
      "ContactPersons": [],
      "HasAttachments": false,
      "HasValidationErrors": false
    },
    {
      "ContactID": "e47a0c93-1f5b-4d2a-9e86-7c3b5d1f2a08",
      "ContactStatus": "ACTIVE",
      "Name": "Mereana Walker",
      "FirstName": "Mereana",
      "LastName": "Walker",
      "EmailAddress": "mereana.walker@example.com",
      "BankAccountDetails": "",
      "Addresses": [
        {
          "AddressType": "STREET",
          "City": "",
          "Region": "",
          "PostalCode": "",
          "Country": ""
        },
        {
          "AddressType": "POBOX",
          "City": "",
          "Region": "",
          "PostalCode": "",
          "Country": ""
        }
      ],
      "Phones": [
        {
          "PhoneType": "DEFAULT",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "DDI",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "FAX",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "MOBILE",
          "PhoneNumber": "555 0147",
          "PhoneAreaCode": "027",
          "PhoneCountryCode": "64"
        }
      ],
      "UpdatedDateUTC": "\/Date(1784671518640+0000)\/",
      "ContactGroups": [],
      "IsSupplier": false,
      "IsCustomer": false,
      "SalesDefaultLineAmountType": "INCLUSIVE",
      "PurchasesDefaultLineAmountType": "INCLUSIVE",
      "Balances": {
        "AccountsReceivable": {
          "Outstanding": 0.00,
          "Overdue": 0.00
        },
        "AccountsPayable": {
          "Outstanding": 0.00,
          "Overdue": 0.00
        }
      },
      "ContactPersons": [],
      "HasAttachments": false,
      "HasValidationErrors": false
    },
    {
      "ContactID": "2a8f5c7d-6e1b-4a93-8d24-0f7e9c1b3d66",
      "ContactNumber": "EXT-SC-77",
      "ContactStatus": "ACTIVE",
      "Name": "Southern Cross Events Pty Ltd",
      "EmailAddress": "finance@southerncrossevents.com.au",
      "BankAccountDetails": "",
      "TaxNumber": "51 824 753 556",
      "DefaultCurrency": "AUD",
      "Addresses": [
        {
          "AddressType": "STREET",
          "AddressLine1": "Level 3, 88 George Street",
          "AddressLine2": "",
          "AddressLine3": "",
          "AddressLine4": "",
          "City": "Sydney",
          "Region": "NSW",
          "PostalCode": "2000",
          "Country": "Australia",
          "AttentionTo": ""
        },
        {
          "AddressType": "POBOX",
          "AddressLine1": "GPO Box 2210",
          "AddressLine2": "",
          "AddressLine3": "",
          "AddressLine4": "",
          "City": "Sydney",
          "Region": "NSW",
          "PostalCode": "2001",
          "Country": "Australia",
          "AttentionTo": "Finance Team"
        }
      ],
      "Phones": [
        {
          "PhoneType": "DEFAULT",
          "PhoneNumber": "9251 4400",
          "PhoneAreaCode": "02",
          "PhoneCountryCode": "61"
        },
        {
          "PhoneType": "DDI",
          "PhoneNumber": "9251 4415",
          "PhoneAreaCode": "02",
          "PhoneCountryCode": "61"
        },
        {
          "PhoneType": "FAX",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "MOBILE",
          "PhoneNumber": "412 555 019",
          "PhoneAreaCode": "",
          "PhoneCountryCode": "61"
        }
      ],
      "UpdatedDateUTC": "\/Date(1778486553901+0000)\/",
      "ContactGroups": [],
      "IsSupplier": true,
      "IsCustomer": true,
      "SalesDefaultLineAmountType": "EXCLUSIVE",
      "PurchasesDefaultLineAmountType": "EXCLUSIVE",
      "Balances": {
        "AccountsReceivable": {
          "Outstanding": 4620.00,
          "Overdue": 1980.00
        },
        "AccountsPayable": {
          "Outstanding": 310.00,
          "Overdue": 0.00
        }
      },
      "ContactPersons": [],
      "HasAttachments": false,
      "HasValidationErrors": false
    }
  ]
}
"""# + "\n"

    static let contactsPostSummarizeErrorsFalse = #"""
{
  "Id": "41b0d8e3-9c2a-4f67-8e15-d3a6b7c9e0f2",
  "Status": "OK",
  "ProviderName": "Acme Field Sync",
  "DateTimeUTC": "\/Date(1784683866021)\/",
  "Contacts": [
    {
      "ContactID": "c6e2f9a1-3b8d-4e70-a5c4-1f9d8e7b6a53",
      "ContactStatus": "ACTIVE",
      "Name": "Tidewater Plumbing Ltd",
      "EmailAddress": "office@tidewaterplumbing.co.nz",
      "BankAccountDetails": "",
      "Addresses": [
        {
          "AddressType": "STREET",
          "City": "",
          "Region": "",
          "PostalCode": "",
          "Country": ""
        },
        {
          "AddressType": "POBOX",
          "AddressLine1": "7 Wharf Road",
          "City": "Nelson",
          "Region": "Nelson",
          "PostalCode": "7010",
          "Country": "New Zealand"
        }
      ],
      "Phones": [
        {
          "PhoneType": "DEFAULT",
          "PhoneNumber": "546 2210",
          "PhoneAreaCode": "03",
          "PhoneCountryCode": "64"
        },
        {
          "PhoneType": "DDI",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "FAX",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "MOBILE",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        }
      ],
      "UpdatedDateUTC": "\/Date(1784683865977+0000)\/",
      "ContactGroups": [],
      "IsSupplier": false,
      "IsCustomer": false,
      "SalesTrackingCategories": [],
      "PurchasesTrackingCategories": [],
      "ContactPersons": [],
      "HasValidationErrors": false,
      "StatusAttributeString": "OK"
    },
    {
      "ContactID": "00000000-0000-0000-0000-000000000000",
      "Name": "Harbour View Cafe Ltd",
      "EmailAddress": "hello@harbourviewcafe.co.nz",
      "Addresses": [],
      "Phones": [],
      "ContactGroups": [],
      "ContactPersons": [],
      "HasValidationErrors": true,
      "StatusAttributeString": "ERROR",
      "ValidationErrors": [
        {
          "Message": "The contact name Harbour View Cafe Ltd is already assigned to another contact. The contact name must be unique across all active contacts."
        }
      ]
    }
  ]
}
"""# + "\n"

    static let error400ValidationContacts = #"""
{
  "ErrorNumber": 10,
  "Type": "ValidationException",
  "Message": "A validation exception occurred",
  "Elements": [
    {
      "ContactID": "00000000-0000-0000-0000-000000000000",
      "Name": "Harbour View Cafe Ltd",
      "EmailAddress": "hello@harbourviewcafe.co.nz",
      "Addresses": [
        {
          "AddressType": "STREET",
          "AddressLine1": "12 Oriental Parade",
          "City": "Wellington",
          "PostalCode": "6011",
          "Country": "New Zealand",
          "ValidationErrors": []
        }
      ],
      "Phones": [
        {
          "PhoneType": "MOBILE",
          "PhoneNumber": "555 0192",
          "PhoneAreaCode": "021",
          "ValidationErrors": []
        }
      ],
      "ContactGroups": [],
      "ContactPersons": [],
      "HasValidationErrors": true,
      "ValidationErrors": [
        {
          "Message": "The contact name Harbour View Cafe Ltd is already assigned to another contact. The contact name must be unique across all active contacts."
        }
      ]
    },
    {
      "ContactID": "00000000-0000-0000-0000-000000000000",
      "Name": "Rangi Ellison",
      "EmailAddress": "rangi.ellison@@example",
      "Addresses": [],
      "Phones": [],
      "ContactGroups": [],
      "ContactPersons": [],
      "HasValidationErrors": true,
      "ValidationErrors": [
        {
          "Message": "Email address must be valid."
        }
      ]
    }
  ]
}
"""# + "\n"

    static let error401TokenExpired = #"""
{
  "Type": null,
  "Title": "Unauthorized",
  "Status": 401,
  "Detail": "TokenExpired: token expired at 07/22/2026 02:00:00",
  "Instance": "5c2e8a17-9f3b-4d06-a1e4-7b0c9d2f6e38",
  "Extensions": {}
}
"""# + "\n"

    static let error403Forbidden = #"""
{
  "Type": null,
  "Title": "Forbidden",
  "Status": 403,
  "Detail": "AuthenticationUnsuccessful",
  "Instance": "a8d03f61-2c7e-4b95-8e1a-4f6b0d9c3e27",
  "Extensions": {}
}
"""# + "\n"

    static let invoicePutRequest = #"""
{
  "Invoices": [
    {
      "Type": "ACCREC",
      "Contact": {
        "ContactID": "5f3a8c1e-2b7d-4e0a-9c6f-1d2e3f4a5b6c"
      },
      "Date": "2026-07-22",
      "DueDate": "2026-08-21",
      "LineAmountTypes": "Exclusive",
      "Reference": "SO-10231",
      "Status": "AUTHORISED",
      "LineItems": [
        {
          "ItemCode": "PUMP-2HP",
          "Description": "Water pump 2HP, stainless housing",
          "Quantity": 2,
          "UnitAmount": 349.00,
          "AccountCode": "200",
          "TaxType": "OUTPUT2"
        },
        {
          "ItemCode": "SVC-INSTALL",
          "Description": "Installation labour - 3.5 h",
          "Quantity": 3.5,
          "UnitAmount": 95.00,
          "AccountCode": "200",
          "TaxType": "OUTPUT2"
        }
      ]
    }
  ]
}
"""# + "\n"

    static let invoicePutResponse = #"""
{
  "Id": "d2c8a4f1-6e3b-4b90-a7d5-9f0e1c2b3a48",
  "Status": "OK",
  "ProviderName": "Acme Field Sync",
  "DateTimeUTC": "\/Date(1784683865412)\/",
  "Invoices": [
    {
      "Type": "ACCREC",
      "InvoiceID": "4b6e9d2c-1a7f-4e38-b5c0-8d3f2a1e9c75",
      "InvoiceNumber": "INV-0123",
      "Reference": "SO-10231",
      "Payments": [],
      "CreditNotes": [],
      "Prepayments": [],
      "Overpayments": [],
      "AmountDue": 1185.08,
      "AmountPaid": 0.00,
      "AmountCredited": 0.00,
      "SentToContact": false,
      "CurrencyRate": 1.000000,
      "IsDiscounted": false,
      "HasAttachments": false,
      "HasErrors": false,
      "Contact": {
        "ContactID": "5f3a8c1e-2b7d-4e0a-9c6f-1d2e3f4a5b6c",
        "ContactNumber": "CUST-0042",
        "AccountNumber": "HV-1001",
        "ContactStatus": "ACTIVE",
        "Name": "Harbour View Cafe Ltd",
        "FirstName": "Aroha",
        "LastName": "Ngata",
        "EmailAddress": "accounts@harbourviewcafe.co.nz",
        "BankAccountDetails": "",
        "Addresses": [
          {
            "AddressType": "POBOX",
            "AddressLine1": "PO Box 5123",
            "AddressLine2": "Lambton Quay",
            "City": "Wellington",
            "Region": "Wellington",
            "PostalCode": "6140",
            "Country": "New Zealand",
            "AttentionTo": "Accounts Payable"
          },
          {
            "AddressType": "STREET",
            "AddressLine1": "12 Oriental Parade",
            "AddressLine2": "Ground Floor",
            "City": "Wellington",
            "Region": "Wellington",
            "PostalCode": "6011",
            "Country": "New Zealand",
            "AttentionTo": "Aroha Ngata"
          }
        ],
        "Phones": [
          {
            "PhoneType": "DEFAULT",
            "PhoneNumber": "384 9921",
            "PhoneAreaCode": "04",
            "PhoneCountryCode": "64"
          },
          {
            "PhoneType": "DDI",
            "PhoneNumber": "",
            "PhoneAreaCode": "",
            "PhoneCountryCode": ""
          },
          {
            "PhoneType": "FAX",
            "PhoneNumber": "",
            "PhoneAreaCode": "",
            "PhoneCountryCode": ""
          },
          {
            "PhoneType": "MOBILE",
            "PhoneNumber": "555 0192",
            "PhoneAreaCode": "021",
            "PhoneCountryCode": "64"
          }
        ],
        "UpdatedDateUTC": "\/Date(1784683865300+0000)\/",
        "ContactGroups": [],
        "IsSupplier": false,
        "IsCustomer": true,
        "SalesTrackingCategories": [],
        "PurchasesTrackingCategories": [],
        "ContactPersons": [
          {
            "FirstName": "Tom",
            "LastName": "Reid",
            "EmailAddress": "tom@harbourviewcafe.co.nz",
            "IncludeInEmails": true
          }
        ],
        "HasValidationErrors": false
      },
      "DateString": "2026-07-22T00:00:00",
      "Date": "\/Date(1784678400000+0000)\/",
      "DueDateString": "2026-08-21T00:00:00",
      "DueDate": "\/Date(1787270400000+0000)\/",
      "BrandingThemeID": "7b2e4c9a-0d1f-4a63-9e85-3c6b1f0d2a97",
      "Status": "AUTHORISED",
      "LineAmountTypes": "Exclusive",
      "LineItems": [
        {
          "ItemCode": "PUMP-2HP",
          "Item": {
            "ItemID": "1c7d3e95-4a2b-48f0-b6d9-0e5f7a2c8d41",
            "Name": "Water pump 2HP",
            "Code": "PUMP-2HP"
          },
          "Description": "Water pump 2HP, stainless housing",
          "UnitAmount": 349.00,
          "TaxType": "OUTPUT2",
          "TaxAmount": 104.70,
          "LineAmount": 698.00,
          "AccountCode": "200",
          "AccountID": "5040915e-8ce7-4177-8d08-fde416232f18",
          "Tracking": [],
          "Quantity": 2.0000,
          "LineItemID": "a91f3c5e-7d2b-4e08-b6a4-1c9e0d8f7b23",
          "ValidationErrors": []
        },
        {
          "ItemCode": "SVC-INSTALL",
          "Item": {
            "ItemID": "8e41c2d7-0b6a-4f35-9d1e-3a7c5b9f0e22",
            "Name": "Installation labour (hourly)",
            "Code": "SVC-INSTALL"
          },
          "Description": "Installation labour - 3.5 h",
          "UnitAmount": 95.00,
          "TaxType": "OUTPUT2",
          "TaxAmount": 49.88,
          "LineAmount": 332.50,
          "AccountCode": "200",
          "AccountID": "5040915e-8ce7-4177-8d08-fde416232f18",
          "Tracking": [],
          "Quantity": 3.5000,
          "LineItemID": "3e7b0d92-5c4f-4a1e-8f63-0b2d9c7a1e54",
          "ValidationErrors": []
        }
      ],
      "SubTotal": 1030.50,
      "TotalTax": 154.58,
      "Total": 1185.08,
      "UpdatedDateUTC": "\/Date(1784683865300+0000)\/",
      "UpdatedDateUTCString": "2026-07-22T01:31:05Z",
      "CurrencyCode": "NZD",
      "StatusAttributeString": "OK"
    }
  ]
}
"""# + "\n"

    static let itemsGet = #"""
{
  "Id": "b3f7e1c0-2d94-4a58-9c61-7e0a5d8f2b14",
  "Status": "OK",
  "ProviderName": "Acme Field Sync",
  "DateTimeUTC": "\/Date(1784683865412)\/",
  "Items": [
    {
      "ItemID": "8e41c2d7-0b6a-4f35-9d1e-3a7c5b9f0e22",
      "Code": "SVC-INSTALL",
      "Description": "On-site installation, charged per hour",
      "UpdatedDateUTC": "\/Date(1773454269003+0000)\/",
      "PurchaseDetails": {},
      "SalesDetails": {
        "UnitPrice": 95.0000,
        "AccountCode": "200",
        "TaxType": "OUTPUT2"
      },
      "Name": "Installation labour (hourly)",
      "IsTrackedAsInventory": false,
      "IsSold": true,
      "IsPurchased": false
    },
    {
      "ItemID": "f05b9a3e-7c12-4d8b-a4e6-2c1d0f9e8b37",
      "Code": "BRK-ALU-40",
      "Description": "Aluminium mounting bracket, 40 mm",
      "PurchaseDescription": "Aluminium bracket 40 mm (box of 1)",
      "UpdatedDateUTC": "\/Date(1782880851779+0000)\/",
      "PurchaseDetails": {
        "UnitPrice": 3.2000,
        "AccountCode": "300",
        "TaxType": "INPUT2"
      },
      "SalesDetails": {
        "UnitPrice": 7.5000,
        "AccountCode": "200",
        "TaxType": "OUTPUT2"
      },
      "Name": "Aluminium bracket 40mm",
      "IsTrackedAsInventory": false,
      "IsSold": true,
      "IsPurchased": true
    },
    {
      "ItemID": "1c7d3e95-4a2b-48f0-b6d9-0e5f7a2c8d41",
      "Code": "PUMP-2HP",
      "Description": "Water pump 2HP, stainless housing",
      "PurchaseDescription": "2HP pump - supplier SKU WP-2000",
      "UpdatedDateUTC": "\/Date(1784505492096+0000)\/",
      "PurchaseDetails": {
        "UnitPrice": 210.0000,
        "COGSAccountCode": "310",
        "TaxType": "INPUT2"
      },
      "SalesDetails": {
        "UnitPrice": 349.0000,
        "AccountCode": "200",
        "TaxType": "OUTPUT2"
      },
      "Name": "Water pump 2HP",
      "IsTrackedAsInventory": true,
      "InventoryAssetAccountCode": "630",
      "TotalCostPool": 2520.00,
      "QuantityOnHand": 12.0000,
      "IsSold": true,
      "IsPurchased": true
    },
    {
      "ItemID": "6a9e2f0b-d3c5-4e71-8b40-5f1a7c3e9d08",
      "Code": "CONS-GLOVES",
      "PurchaseDescription": "Nitrile gloves, box of 100",
      "UpdatedDateUTC": "\/Date(1780436710557+0000)\/",
      "PurchaseDetails": {
        "UnitPrice": 18.9000,
        "AccountCode": "429",
        "TaxType": "INPUT2"
      },
      "SalesDetails": {},
      "Name": "Nitrile gloves (100)",
      "IsTrackedAsInventory": false,
      "IsSold": false,
      "IsPurchased": true
    }
  ]
}
"""# + "\n"

    static let tokenErrorInvalidGrant = #"""
{
  "error": "invalid_grant"
}
"""# + "\n"

    static let tokenResponse = #"""
{
  "id_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6IjFDQUY4RTY2NzcyRDZEQzAyOEQ2NzI2RkQwMjYxNTgxNTcwRUZDMTkiLCJ0eXAiOiJKV1QiLCJ4NXQiOiJISy1PWm5jdGJjQW8xbkp2MENZVmdWY09fQmsifQ.eyJuYmYiOjE3ODQ2ODM4MDAsImV4cCI6MTc4NDY4NDEwMCwiaXNzIjoiaHR0cHM6Ly9pZGVudGl0eS54ZXJvLmNvbSIsImF1ZCI6IjlGMUI3QzBFMkQ0QTRFNkI4QzNENUY3QTlCMUMyRDNFIiwiaWF0IjoxNzg0NjgzODAwLCJhdXRoX3RpbWUiOjE3ODQ2ODM3ODcsInN1YiI6ImEzYzVlN2Y5YjFkMzRmNmE4YzBlMmI0ZDZmOGEwYzFlIiwieGVyb191c2VyaWQiOiI2ZDJmOWE0MS0wYzhiLTRlNTctOWIxMy03ZTVhMmMwZDhmNjQiLCJnbG9iYWxfc2Vzc2lvbl9pZCI6IjVlMGI3YzlkMmE0ZjQxODZiM2QxZTljN2E1ZjIwYjY4IiwicHJlZmVycmVkX3VzZXJuYW1lIjoib3duZXJAaGFyYm91cmhhcmR3YXJlLmNvLm56IiwiZW1haWwiOiJvd25lckBoYXJib3VyaGFyZHdhcmUuY28ubnoiLCJnaXZlbl9uYW1lIjoiU2FtIiwiZmFtaWx5X25hbWUiOiJUYW5lIiwiYW1yIjpbInB3ZCJdfQ.Rml4dHVyZS1zaWduYXR1cmUtbm90LXZhbGlk",
  "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6IjFDQUY4RTY2NzcyRDZEQzAyOEQ2NzI2RkQwMjYxNTgxNTcwRUZDMTkiLCJ0eXAiOiJKV1QiLCJ4NXQiOiJISy1PWm5jdGJjQW8xbkp2MENZVmdWY09fQmsifQ.eyJuYmYiOjE3ODQ2ODM4MDAsImV4cCI6MTc4NDY4NTYwMCwiaXNzIjoiaHR0cHM6Ly9pZGVudGl0eS54ZXJvLmNvbSIsImF1ZCI6Imh0dHBzOi8vaWRlbnRpdHkueGVyby5jb20vcmVzb3VyY2VzIiwiY2xpZW50X2lkIjoiOUYxQjdDMEUyRDRBNEU2QjhDM0Q1RjdBOUIxQzJEM0UiLCJzdWIiOiJhM2M1ZTdmOWIxZDM0ZjZhOGMwZTJiNGQ2ZjhhMGMxZSIsImF1dGhfdGltZSI6MTc4NDY4Mzc4NywieGVyb191c2VyaWQiOiI2ZDJmOWE0MS0wYzhiLTRlNTctOWIxMy03ZTVhMmMwZDhmNjQiLCJnbG9iYWxfc2Vzc2lvbl9pZCI6IjVlMGI3YzlkMmE0ZjQxODZiM2QxZTljN2E1ZjIwYjY4Iiwic2lkIjoiNWUwYjdjOWQyYTRmNDE4NmIzZDFlOWM3YTVmMjBiNjgiLCJqdGkiOiIwQTZGMkM5RTRCOEQxRjNBNUM3RTlCMEQyRjRBNkM4RSIsImF1dGhlbnRpY2F0aW9uX2V2ZW50X2lkIjoiZDk5ZWNkZmUtMzkxZC00M2QyLWI4MzQtMTc2MzZiYTkwZThkIiwic2NvcGUiOlsiZW1haWwiLCJwcm9maWxlIiwib3BlbmlkIiwiYWNjb3VudGluZy5jb250YWN0cyIsImFjY291bnRpbmcuc2V0dGluZ3MiLCJhY2NvdW50aW5nLmludm9pY2VzIiwib2ZmbGluZV9hY2Nlc3MiXSwiYW1yIjpbInB3ZCJdfQ.Rml4dHVyZS1zaWduYXR1cmUtbm90LXZhbGlk",
  "expires_in": 1800,
  "token_type": "Bearer",
  "refresh_token": "c0f57e2a9b41d83e6f0a2c9d7b5e1f48a3d6c0b9e2f7a41d58c3b0e6f9a2d7c4",
  "scope": "openid profile email accounting.contacts accounting.settings accounting.invoices offline_access"
}
"""# + "\n"

    static let webhookCreditnoteEvent = #"""
{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/CreditNotes/7d1f0b3a-9e5c-4a26-8b47-2c0e6f9d1a83","resourceId":"7d1f0b3a-9e5c-4a26-8b47-2c0e6f9d1a83","tenantId":"b8f3a2c1-6d4e-4f90-a1b7-3c5e9d0f2a64","tenantType":"ORGANISATION","eventCategory":"CREDITNOTE","eventType":"CREATE","eventDateUtc":"2026-07-22T02:14:48.067","data":{"Type":"ACCRECCREDIT","Status":"AUTHORISED"}}],"firstEventSequence":1044,"lastEventSequence":1044,"entropy":"HVCKDLQWPOZMRTSNEGYA"}
"""#

    static let webhookEvents = #"""
{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Contacts/5f3a8c1e-2b7d-4e0a-9c6f-1d2e3f4a5b6c","resourceId":"5f3a8c1e-2b7d-4e0a-9c6f-1d2e3f4a5b6c","eventDateUtc":"2026-07-22T01:30:00.250","eventType":"UPDATE","eventCategory":"CONTACT","tenantId":"b8f3a2c1-6d4e-4f90-a1b7-3c5e9d0f2a64","tenantType":"ORGANISATION"},{"resourceUrl":"https://api.xero.com/api.xro/2.0/Invoices/4b6e9d2c-1a7f-4e38-b5c0-8d3f2a1e9c75","resourceId":"4b6e9d2c-1a7f-4e38-b5c0-8d3f2a1e9c75","eventDateUtc":"2026-07-22T01:31:05.412","eventType":"CREATE","eventCategory":"INVOICE","tenantId":"b8f3a2c1-6d4e-4f90-a1b7-3c5e9d0f2a64","tenantType":"ORGANISATION"}],"firstEventSequence":1042,"lastEventSequence":1043,"entropy":"QWJKTRZPLMXCVBNHGFDS"}
"""#

    static let webhookIntentToReceive = #"""
{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"NJUXYWZBDQKMRFTGHPSL"}
"""#

}
