-- Second-factor verification state of a sign-in (JSON document, like
-- first_factor): the SMS code sent after the first factor, hashed.
ALTER TABLE sign_ins ADD COLUMN second_factor TEXT;
